/**
 * The local voice-over provider: espeak-ng (Debian package `espeak-ng`), offline and free.
 * Robotic, but real speech at the right pace, so an animatic's timing can be judged by ear.
 * Worker-only.
 */
import { execFile } from 'node:child_process';
import { NonRetryableNodeError } from '../../../engine/worker/node-api';
import { OPENAI_VOICES } from '../definition';

export interface SpeakLocalArgs {
  text: string;
  /** An espeak-ng voice variant (`f3`, `klatt`, …), or empty; OpenAI voice names are ignored. */
  voice: string;
  /** 0.25–4: 175 words a minute × speed, within espeak-ng's 80–700. */
  speed: number;
  /** An espeak-ng language (`en`, `en-us`, `de`). */
  language: string;
  /** Where the WAV goes. */
  output: string;
  signal: AbortSignal;
  /** The binary; `espeak-ng` on PATH by default. */
  binary?: string;
}

const DEFAULT_WPM = 175;
const MIN_WPM = 80;
const MAX_WPM = 700;
const TIMEOUT_MS = 60_000;

/** espeak-ng's `-s`: words per minute for a speed factor. */
export function wordsPerMinute(speed: number): number {
  return Math.min(MAX_WPM, Math.max(MIN_WPM, Math.round(DEFAULT_WPM * speed)));
}

/** espeak-ng's `-v`: the language, plus `+variant` unless the voice is empty or OpenAI's. */
export function espeakVoice(language: string, voice: string): string {
  const lang = language.toLowerCase() || 'en';
  const variant = voice.trim();
  if (!variant || (OPENAI_VOICES as readonly string[]).includes(variant.toLowerCase())) return lang;
  return `${lang}+${variant}`;
}

/**
 * Speaks `text` into a WAV file at `output` with espeak-ng. A missing binary is a
 * non-retryable `espeak_missing`, an unknown language a non-retryable `espeak_voice_unknown`.
 */
export async function speakLocal(args: SpeakLocalArgs): Promise<void> {
  const binary = args.binary ?? 'espeak-ng';
  const voice = espeakVoice(args.language, args.voice);
  const argv = [
    '-v',
    voice,
    '-s',
    String(wordsPerMinute(args.speed)),
    '-w',
    args.output,
    // `--` ends the options, so a line starting with "-" is spoken, not parsed.
    '--',
    args.text,
  ];
  await new Promise<void>((resolve, reject) => {
    execFile(
      binary,
      argv,
      { signal: args.signal, timeout: TIMEOUT_MS, killSignal: 'SIGKILL' },
      (error, _stdout, stderr) => {
        if (!error) return resolve();
        if (args.signal.aborted) return reject(abortReason(args.signal));
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'EACCES') {
          return reject(
            new NonRetryableNodeError(
              `espeak_missing: the local voice-over needs espeak-ng, which cannot be started from "${binary}" ` +
                "(install it with `sudo apt-get install espeak-ng`), or set the node's provider to openai",
              'espeak_missing',
            ),
          );
        }
        const detail = String(stderr).trim().split('\n').at(-1) || error.message;
        if (/voice does not exist/i.test(detail)) {
          return reject(
            new NonRetryableNodeError(
              `espeak_voice_unknown: espeak-ng has no voice "${voice}" (${detail}); ` +
                'set language to one `espeak-ng --voices` lists and voice to a variant from `espeak-ng --voices=variant`, or empty',
              'espeak_voice_unknown',
            ),
          );
        }
        reject(new Error(`espeak-ng failed on voice "${voice}": ${detail}`));
      },
    );
  });
}

function abortReason(signal: AbortSignal): unknown {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new Error('espeak-ng was cancelled');
  error.name = 'AbortError';
  return error;
}
