/**
 * What ffprobe says about a media file, as engine/media/ffmpeg.ts reads it. Its own module with
 * no imports: artifact records keep probes (engine/stores/ports.ts), and the stores must not
 * depend on the code that runs ffmpeg.
 */

/** What ffprobe says about a media file. Fields are absent when the file has no such stream. */
export interface MediaProbe {
  formatName: string;
  durationSec?: number;
  hasVideo: boolean;
  hasAudio: boolean;
  width?: number;
  height?: number;
  fps?: number;
  videoCodec?: string;
  pixelFormat?: string;
  /** H.264/HEVC profile and level: clips joined by stream copy must share them (one header). */
  videoProfile?: string;
  videoLevel?: number;
  /** The video stream's time base, e.g. `1/12288`: the concat demuxer needs one for all. */
  timeBase?: string;
  /** e.g. `1:1`; absent when the file does not say. */
  sampleAspectRatio?: string;
  audioCodec?: string;
}

/** A probe of a file that must be a video: the video fields are guaranteed. */
export interface VideoProbe extends MediaProbe {
  durationSec: number;
  width: number;
  height: number;
  fps: number;
  videoCodec: string;
}
