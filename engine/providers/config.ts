/**
 * Provider configuration, read once from the server's or worker's environment. Keys stay
 * here: they never reach a graph document, an event, a log line or the browser.
 */

export interface ProviderConfig {
  openai?: { apiKey: string; baseURL?: string };
  sd?: { url: string; kind: 'a1111' | 'comfyui' };
  runway?: { apiKey: string; baseURL?: string; pollIntervalMs: number };
  ffmpegPath: string;
  ffprobePath: string;
}

export function providerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ProviderConfig {
  const ffmpegPath = env.FFMPEG_PATH || 'ffmpeg';
  return {
    ...(env.OPENAI_API_KEY
      ? {
          openai: {
            apiKey: env.OPENAI_API_KEY,
            ...(env.OPENAI_BASE_URL ? { baseURL: env.OPENAI_BASE_URL } : {}),
          },
        }
      : {}),
    ...(env.SD_API_URL
      ? { sd: { url: env.SD_API_URL, kind: env.SD_API_KIND === 'comfyui' ? 'comfyui' : 'a1111' } }
      : {}),
    ...(env.RUNWAY_API_KEY
      ? {
          runway: {
            apiKey: env.RUNWAY_API_KEY,
            ...(env.RUNWAY_BASE_URL ? { baseURL: env.RUNWAY_BASE_URL } : {}),
            pollIntervalMs: Number(env.RUNWAY_POLL_MS ?? 5_000),
          },
        }
      : {}),
    ffmpegPath,
    ffprobePath:
      env.FFPROBE_PATH ||
      (ffmpegPath === 'ffmpeg' ? 'ffprobe' : ffmpegPath.replace(/ffmpeg$/, 'ffprobe')),
  };
}

/** Which providers are live, for /api/health: names only, never keys. */
export function describeProviders(config: ProviderConfig): Record<string, string> {
  return {
    storyboard: config.openai ? 'openai' : 'local',
    frames: config.sd ? config.sd.kind : 'local',
    clips: config.runway ? 'runway' : 'local',
    merge: 'ffmpeg',
  };
}
