/** The keyboard shortcuts panel, generated from the same table the key handler uses. */
import { Dialog } from './Dialog';
import { SHORTCUTS, formatKeys, isMacPlatform } from './shortcuts';
import './ShortcutsHelp.css';

export function ShortcutsHelp({ onClose }: { onClose(): void }) {
  const mac = isMacPlatform();
  return (
    <Dialog title="Keyboard shortcuts" onClose={onClose}>
      <table className="shortcuts">
        <tbody>
          {SHORTCUTS.map((shortcut) => (
            <tr key={shortcut.command}>
              <td>
                {shortcut.keys.map((keys) => (
                  <kbd key={keys}>{formatKeys(keys, mac)}</kbd>
                ))}
              </td>
              <td>{shortcut.description}</td>
            </tr>
          ))}
          <tr>
            <td>
              <kbd>Shift</kbd> + drag
            </td>
            <td>Select several nodes with a box</td>
          </tr>
          <tr>
            <td>
              <kbd>{mac ? '⌘' : 'Ctrl'}</kbd> + click
            </td>
            <td>Add a node to the selection</td>
          </tr>
          <tr>
            <td>Drag a connection to empty canvas</td>
            <td>Add a node that fits, already wired</td>
          </tr>
        </tbody>
      </table>
    </Dialog>
  );
}
