/**
 * A node's outputs, drawn small enough for the canvas: frame thumbnails (click to enlarge),
 * clip previews that play on hover, the merged video with controls, and the storyboard as a
 * shot list. Used on canvas nodes and in the run panel.
 */
import { memo } from 'react';
import { api } from '../api/client';
import type { ArtifactRef } from '../api/types';
import type { ScoreBadge } from './consistency-view';
import type { OutputPreview as Preview } from './run-view';
import './OutputPreview.css';

export interface OutputPreviewProps {
  preview: Preview;
  onOpenImage?(images: ArtifactRef[], index: number): void;
  /** Thumbnails shown before "+N more". */
  maxThumbs?: number;
  compact?: boolean;
  /** Consistency badges by frame index (the frames node's gate). */
  badges?: readonly (ScoreBadge | undefined)[];
  /** Offered on each frame or clip of a finished run: regenerate that one shot. */
  onRegenerate?(index: number): void;
}

export const OutputPreview = memo(function OutputPreview({
  preview,
  onOpenImage,
  maxThumbs = 8,
  compact = false,
  badges,
  onRegenerate,
}: OutputPreviewProps) {
  const regenerate = (index: number, what: string) =>
    onRegenerate && (
      <button
        className="regenerate nodrag"
        title={`Reject ${what} ${index + 1} and regenerate this shot with a new seed`}
        aria-label={`Regenerate shot ${index + 1}`}
        onClick={() => onRegenerate(index)}
      >
        ↻
      </button>
    );
  const { images, videos, storyboard } = preview;
  const shown = images.slice(0, maxThumbs);
  return (
    <div className={`outputs${compact ? ' outputs--compact' : ''}`}>
      {images.length > 0 && (
        <div className="thumbs" aria-label="Frames">
          {shown.map((image, index) => {
            const badge = badges?.[index];
            return (
              <div key={`${image.id}-${index}`} className="thumb-cell" data-testid="frame-thumb">
                <button
                  className="thumb nodrag"
                  title={`Shot ${index + 1}: click to enlarge`}
                  onClick={() => onOpenImage?.(images, index)}
                >
                  <img src={api.artifactUrl(image.id)} alt={`Shot ${index + 1}`} loading="lazy" />
                  <span className="thumb__index">{index + 1}</span>
                </button>
                {badge && (
                  <span
                    className={`score-badge score-badge--${badge.tone}${badge.stale ? ' score-badge--stale' : ''}`}
                    title={badge.title}
                    aria-label={badge.title}
                    data-testid="score-badge"
                  >
                    {badge.stale ? '⟳ ' : ''}
                    {badge.label}
                  </span>
                )}
                {regenerate(index, 'frame')}
              </div>
            );
          })}
          {images.length > shown.length && (
            <button
              className="thumb thumb--more nodrag"
              onClick={() => onOpenImage?.(images, shown.length)}
            >
              +{images.length - shown.length}
            </button>
          )}
        </div>
      )}
      {videos.length === 1 && (
        <video
          className="video-preview nodrag"
          src={api.artifactUrl(videos[0].id)}
          controls
          preload="metadata"
          aria-label="Video output"
        />
      )}
      {videos.length > 1 && (
        <div className="clips" aria-label="Clips">
          {videos.map((video, index) => (
            <div key={`${video.id}-${index}`} className="thumb-cell">
              <video
                className="clip nodrag"
                src={api.artifactUrl(video.id)}
                muted
                loop
                playsInline
                preload="metadata"
                title={`Clip ${index + 1}: hover to play`}
                onMouseEnter={(e) => void e.currentTarget.play().catch(() => {})}
                onMouseLeave={(e) => e.currentTarget.pause()}
              />
              {regenerate(index, 'clip')}
            </div>
          ))}
        </div>
      )}
      {storyboard && (
        <ol className="shots nowheel" aria-label="Storyboard">
          {storyboard.shots.map((shot) => (
            <li key={shot.index} className="shot">
              <span className="shot__meta">
                {shot.index + 1} · {shot.camera} · {shot.durationSec}s
              </span>
              <span className="shot__text">{shot.description}</span>
              {shot.dialogue && <span className="shot__dialogue">“{shot.dialogue}”</span>}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
});
