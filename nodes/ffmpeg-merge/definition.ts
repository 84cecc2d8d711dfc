import { z } from 'zod';
import { defineNode } from '../../engine/graph/define-node';

/** Normalises and concatenates clips into one MP4, with optional crossfades, audio and subtitles. */
export const ffmpegMerge = defineNode({
  type: 'ffmpeg-merge',
  version: 1,
  title: 'Merge (ffmpeg)',
  category: 'Video',
  color: '#a78bfa',
  description: 'Joins the clips into the final H.264 MP4.',
  inputs: {
    clips: { type: 'video[]', label: 'Clips', multiple: true },
    audio: { type: 'audio', label: 'Audio', optional: true },
    storyboard: { type: 'storyboard', label: 'Subtitles from', optional: true },
  },
  outputs: { video: { type: 'video', label: 'Video' } },
  params: z.object({
    width: z.number().int().min(64).max(3840).multipleOf(2).default(1280),
    height: z.number().int().min(64).max(2160).multipleOf(2).default(720),
    fps: z.number().int().min(12).max(60).default(24),
    crossfadeSec: z.number().min(0).max(2).default(0),
    subtitles: z.boolean().default(true),
    crf: z.number().int().min(0).max(51).default(20),
  }),
  paramUi: {
    crossfadeSec: { label: 'Crossfade (s)', help: '0 cuts straight from clip to clip' },
    subtitles: {
      widget: 'toggle',
      help: "burns the shots' dialogue in when a storyboard is wired",
    },
    crf: { advanced: true, label: 'Quality (CRF, lower is better)' },
  },
  runsOn: 'lab-cpu',
  execution: { startToCloseSec: 1800, heartbeatSec: 20 },
});
