// @vitest-environment jsdom
import { cleanup, fireEvent, screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultParams } from '../canvas/catalog';
import type { FlowNode } from '../canvas/flow-mapping';
import { indexProblems } from '../canvas/studio-context';
import { catalog } from '../test/fixtures';
import { fakeFetch, renderInStudio } from '../test/render';
import { Inspector } from './Inspector';

function flowNode(id: string, type: string, params: Record<string, unknown> = {}): FlowNode {
  const info = catalog().get(type)!;
  return {
    id,
    type: 'graph',
    position: { x: 0, y: 0 },
    data: { type, typeVersion: info.typeVersion, params: { ...defaultParams(info), ...params } },
    selected: true,
  };
}

function renderInspector(node: FlowNode, problems = indexProblems([])) {
  return renderInStudio(
    <Inspector
      selected={[node]}
      name="Test"
      description=""
      exposed={[{ nodeId: node.id, param: 'seed', label: 'Seed' }]}
      problems={problems.list}
      nodeCount={1}
      onFocusNode={() => {}}
    />,
    { problems },
  );
}

beforeEach(() => {
  vi.stubGlobal(
    'fetch',
    fakeFetch({
      'GET /api/characters': {
        body: [
          { id: 'demo-mira', name: 'Mira', description: '', referenceImages: [] },
          { id: 'char_2', name: 'Theo', description: '', referenceImages: [] },
        ],
      },
    }),
  );
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('Inspector form generated from the params schema', () => {
  it('renders one widget per param with labels, bounds, help and an advanced section', () => {
    renderInspector(flowNode('frames', 'sd-lora-frame'));
    expect(screen.getByRole('heading', { name: 'Frames (SD + LoRA)' })).toBeTruthy();
    const width = within(screen.getByTestId('field-width')).getByRole(
      'spinbutton',
    ) as HTMLInputElement;
    expect([width.min, width.max, width.step, width.value]).toEqual(['64', '2048', '8', '768']);
    const provider = within(screen.getByTestId('field-provider')).getByRole(
      'combobox',
    ) as HTMLSelectElement;
    expect([...provider.options].map((o) => o.value)).toEqual([
      'auto',
      'a1111',
      'comfyui',
      'runway',
      'local',
    ]);
    expect(screen.getByText(/auto uses SD_API_URL/)).toBeTruthy();
    const advanced = screen.getByText('Advanced (7)').closest('details')!;
    expect(within(advanced).getByText('CFG scale')).toBeTruthy();
    expect(within(advanced).queryByText('Width')).toBeNull();
    const seedExpose = within(screen.getByTestId('field-seed')).getByRole('button', {
      name: 'exposed',
    });
    expect(seedExpose.getAttribute('aria-pressed')).toBe('true');
    const widthExpose = within(screen.getByTestId('field-width')).getByRole('button', {
      name: 'expose',
    });
    expect(widthExpose.getAttribute('aria-pressed')).toBe('false');
  });

  it('validates inline while typing and stores only numbers', () => {
    const { actions } = renderInspector(flowNode('frames', 'sd-lora-frame', { width: 770 }));
    const field = screen.getByTestId('field-width');
    expect(within(field).getByRole('alert').textContent).toBe('must be a multiple of 8');
    const input = within(field).getByRole('spinbutton');
    fireEvent.change(input, { target: { value: '' } });
    expect(within(field).getByRole('alert').textContent).toBe('enter a number');
    expect(actions).toEqual([]);
    fireEvent.change(input, { target: { value: '1024' } });
    expect(actions).toEqual([{ type: 'setParam', nodeId: 'frames', param: 'width', value: 1024 }]);
  });

  it('rolls a seed inside its bounds with the dice', () => {
    const { actions } = renderInspector(flowNode('frames', 'sd-lora-frame'));
    fireEvent.click(screen.getByRole('button', { name: 'Roll a new seed' }));
    const action = actions[0] as { param: string; value: number };
    expect(action.param).toBe('seed');
    expect(Number.isInteger(action.value) && action.value >= 0 && action.value <= 4294967295).toBe(
      true,
    );
  });

  it('shows the server’s problems under the param they name and node-level ones above', () => {
    renderInspector(
      flowNode('frames', 'sd-lora-frame'),
      indexProblems([
        {
          code: 'invalid_param',
          message: 'seed is out of range: set a valid value',
          nodeId: 'frames',
          param: 'seed',
        },
        {
          code: 'missing_required_input',
          message: 'needs its input "storyboard"',
          nodeId: 'frames',
          port: 'storyboard',
        },
      ]),
    );
    expect(within(screen.getByTestId('field-seed')).getByRole('alert').textContent).toBe(
      'seed is out of range: set a valid value',
    );
    expect(screen.getByText(/needs its input "storyboard"/)).toBeTruthy();
  });

  it('renders a long-text area, a toggle and a character picker fed by the API', async () => {
    const script = renderInspector(flowNode('script', 'script-input', { text: '' }));
    expect(within(screen.getByTestId('field-text')).getByRole('textbox').tagName).toBe('TEXTAREA');
    script.unmount();

    const merge = renderInspector(flowNode('merge', 'ffmpeg-merge'));
    const toggle = within(screen.getByTestId('field-subtitles')).getByRole(
      'checkbox',
    ) as HTMLInputElement;
    expect(toggle.checked).toBe(true);
    fireEvent.click(toggle);
    expect(merge.actions).toEqual([
      { type: 'setParam', nodeId: 'merge', param: 'subtitles', value: false },
    ]);
    merge.unmount();

    const loader = renderInspector(flowNode('character', 'character-loader'));
    const picker = within(screen.getByTestId('field-characterId')).getByRole(
      'combobox',
    ) as HTMLSelectElement;
    await screen.findByRole('option', { name: 'Theo' });
    expect([...picker.options].map((o) => o.textContent)).toEqual([
      'Choose a character…',
      'Mira',
      'Theo',
    ]);
    fireEvent.change(picker, { target: { value: 'char_2' } });
    expect(loader.actions).toEqual([
      { type: 'setParam', nodeId: 'character', param: 'characterId', value: 'char_2' },
    ]);
  });

  it('offers an upload for image params', () => {
    renderInspector(flowNode('plate', 'image-input'));
    const field = screen.getByTestId('field-image');
    expect(within(field).getByText('Drop an image here or choose a file')).toBeTruthy();
    expect((field.querySelector('input[type=file]') as HTMLInputElement).accept).toBe('image/*');
  });
});

describe('Exposing params for templates', () => {
  const frames = () => flowNode('frames', 'sd-lora-frame', { seed: 42 });
  const renderWith = (exposed: Parameters<typeof Inspector>[0]['exposed']) =>
    renderInStudio(
      <Inspector
        selected={[frames()]}
        name="Test"
        description=""
        exposed={exposed}
        problems={[]}
        nodeCount={1}
        onFocusNode={() => {}}
      />,
    );

  it('toggles a param and edits its label and help through the document', () => {
    const { actions } = renderWith([]);
    expect(screen.queryByTestId('exposed-seed')).toBeNull();
    fireEvent.click(
      within(screen.getByTestId('field-seed')).getByRole('button', { name: 'expose' }),
    );
    expect(actions.at(-1)).toEqual({
      type: 'toggleExposed',
      nodeId: 'frames',
      param: 'seed',
      label: 'Seed',
    });
    cleanup();
    const second = renderWith([{ nodeId: 'frames', param: 'seed', label: 'Seed' }]);
    const settings = screen.getByTestId('exposed-seed');
    fireEvent.change(within(settings).getByLabelText('Label'), { target: { value: 'Look' } });
    fireEvent.change(within(settings).getByLabelText('Help'), { target: { value: 'Same look' } });
    expect(second.actions).toEqual([
      { type: 'editExposed', nodeId: 'frames', param: 'seed', label: 'Look' },
      { type: 'editExposed', nodeId: 'frames', param: 'seed', help: 'Same look' },
    ]);
    // Emptied while typing: said at once (the document keeps its last label meanwhile).
    fireEvent.change(within(settings).getByLabelText('Label'), { target: { value: '' } });
    expect(within(settings).getByText(/A label is required/)).toBeTruthy();
  });

  it('suggests a default from the node value, checked by the param’s own field', () => {
    const { actions } = renderWith([{ nodeId: 'frames', param: 'seed', label: 'Seed' }]);
    const settings = screen.getByTestId('exposed-seed');
    expect(within(settings).queryByTestId('field-seed')).toBeNull();
    fireEvent.click(within(settings).getByRole('checkbox'));
    expect(actions.at(-1)).toEqual({
      type: 'editExposed',
      nodeId: 'frames',
      param: 'seed',
      default: 42,
    });
    cleanup();
    const withDefault = renderWith([
      { nodeId: 'frames', param: 'seed', label: 'Seed', default: -3 } as never,
    ]);
    const field = within(screen.getByTestId('exposed-seed')).getByTestId('field-seed');
    // The seed's schema says at least 0: the same inline message as on the param itself.
    expect(within(field).getByRole('alert').textContent).toBe('must be at least 0');
    fireEvent.change(within(field).getByRole('spinbutton'), { target: { value: '9' } });
    expect(withDefault.actions.at(-1)).toEqual({
      type: 'editExposed',
      nodeId: 'frames',
      param: 'seed',
      default: 9,
    });
  });
});
