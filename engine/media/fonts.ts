/**
 * Finds a TrueType font for ffmpeg's drawtext, which needs a file path (it does not ask
 * fontconfig itself unless built to). fontconfig is asked first, then the usual DejaVu paths.
 */
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { NonRetryableNodeError } from '../worker/node-api';

const FALLBACK_FONTS = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/TTF/DejaVuSans.ttf',
  '/usr/local/share/fonts/DejaVuSans.ttf',
  '/Library/Fonts/Arial.ttf',
  '/System/Library/Fonts/Supplemental/Arial.ttf',
  'C:\\Windows\\Fonts\\arial.ttf',
];

let found: Promise<string> | undefined;

/**
 * The path of a sans-serif font file, found once per process. `configured` (LAB_FONT_FILE, the
 * activity's `ctx.media.fontFile`) overrides the search; none found → a non-retryable
 * `font_not_found` naming what to install.
 */
export function findFontFile(configured?: string): Promise<string> {
  if (configured) return Promise.resolve(configured);
  if (!found) {
    found = search();
    // A failed search is tried again next time (a font may have been installed since).
    found.catch(() => {
      found = undefined;
    });
  }
  return found;
}

async function search(): Promise<string> {
  const fromFontconfig = await fcMatch('DejaVu Sans');
  const candidates = [...(fromFontconfig ? [fromFontconfig] : []), ...FALLBACK_FONTS];
  for (const file of candidates) {
    if (/\.(ttf|otf|ttc)$/i.test(file) && (await exists(file))) return file;
  }
  throw new NonRetryableNodeError(
    'no font file found for captions: install fonts-dejavu-core (or any TrueType font known to ' +
      'fontconfig), or set LAB_FONT_FILE to a .ttf file',
    'font_not_found',
  );
}

function fcMatch(family: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile('fc-match', ['-f', '%{file}', family], { timeout: 5_000 }, (error, stdout) => {
      resolve(error ? undefined : stdout.trim() || undefined);
    });
  });
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
