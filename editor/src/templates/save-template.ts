/**
 * The pure part of "Save as template": which template a workflow came from (so saving again
 * makes a new version), which key frames a run offers as a preview, and the request body for
 * the chosen preview. Kept out of the dialog so each rule is tested on its own.
 */
import type { ArtifactRef, GraphDocument, RunSnapshot, TemplateSaveInput } from '../api/types';
import { finalVideo, previewOutputs } from '../runs/run-view';

/** The template a workflow was made from or last saved as: `graph.meta.template`. */
export interface TemplateOrigin {
  id: string;
  version: number;
}

export function templateOrigin(graph: Pick<GraphDocument, 'meta'>): TemplateOrigin | null {
  const meta = graph.meta ?? {};
  const origin = meta.template;
  if (typeof origin === 'object' && origin !== null) {
    const { id, version } = origin as Record<string, unknown>;
    if (typeof id === 'string' && id !== '') {
      return { id, version: typeof version === 'number' ? version : 1 };
    }
  }
  // An older spelling: a bare id.
  if (typeof meta.templateId === 'string' && meta.templateId !== '') {
    return {
      id: meta.templateId,
      version: typeof meta.templateVersion === 'number' ? meta.templateVersion : 1,
    };
  }
  return null;
}

/** Every picture a run produced, in node order, each once: the key frames to choose from. */
export function keyFrames(snapshot: RunSnapshot | null): ArtifactRef[] {
  const seen = new Set<string>();
  const frames: ArtifactRef[] = [];
  for (const node of Object.values(snapshot?.nodes ?? {})) {
    for (const image of previewOutputs(node.outputs).images) {
      if (seen.has(image.id)) continue;
      seen.add(image.id);
      frames.push(image);
    }
  }
  return frames;
}

/** What the last finished run can give as a preview. */
export interface RunPreviews {
  runId: string;
  video?: ArtifactRef;
  frames: ArtifactRef[];
}

export function runPreviews(snapshot: RunSnapshot | null): RunPreviews | null {
  if (!snapshot) return null;
  const video = finalVideo(snapshot);
  const frames = keyFrames(snapshot);
  if (!video && frames.length === 0) return null;
  return { runId: snapshot.runId, ...(video ? { video } : {}), frames };
}

export type PreviewChoice =
  { kind: 'video' } | { kind: 'frame'; artifactId: string } | { kind: 'graph' };

/**
 * The preview as the API takes it. The run's video goes by run id (the server copies that
 * run's final video); a key frame by artifact id; the graph thumbnail is drawn by the library
 * from the graph itself, so it is `null`.
 */
export function previewBody(
  choice: PreviewChoice,
  previews: RunPreviews | null,
): TemplateSaveInput['preview'] {
  if (choice.kind === 'video' && previews?.video) return { runId: previews.runId };
  if (choice.kind === 'frame') return { artifactId: choice.artifactId };
  return null;
}

/** The choice a dialog starts with: the video if there is one, else a frame, else the graph. */
export function initialChoice(previews: RunPreviews | null): PreviewChoice {
  if (previews?.video) return { kind: 'video' };
  if (previews && previews.frames.length > 0)
    return { kind: 'frame', artifactId: previews.frames[0].id };
  return { kind: 'graph' };
}
