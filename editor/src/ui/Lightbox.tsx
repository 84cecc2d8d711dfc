/** An enlarged image with previous/next (arrow keys) across a node's frames, one per shot. */
import { useEffect, useState } from 'react';
import { api } from '../api/client';
import type { ArtifactRef } from '../api/types';
import './Lightbox.css';

export interface LightboxProps {
  images: ArtifactRef[];
  index: number;
  captions?: string[];
  onClose(): void;
}

export function Lightbox({ images, index: start, captions, onClose }: LightboxProps) {
  const [index, setIndex] = useState(start);
  const image = images[index];
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') onClose();
      else if (event.key === 'ArrowRight') setIndex((i) => Math.min(images.length - 1, i + 1));
      else if (event.key === 'ArrowLeft') setIndex((i) => Math.max(0, i - 1));
      else return;
      event.preventDefault();
      event.stopPropagation();
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [images.length, onClose]);
  if (!image) return null;
  return (
    <div className="lightbox" role="dialog" aria-label="Image viewer" onClick={onClose}>
      <figure onClick={(e) => e.stopPropagation()}>
        <img src={api.artifactUrl(image.id)} alt={captions?.[index] ?? `Shot ${index + 1}`} />
        <figcaption>
          <button
            className="icon-button"
            disabled={index === 0}
            onClick={() => setIndex(index - 1)}
            aria-label="Previous"
          >
            ‹
          </button>
          <span>
            {captions?.[index] ?? `Shot ${index + 1}`} · {index + 1} of {images.length}
            {image.width && image.height ? ` · ${image.width}×${image.height}` : ''}
          </span>
          <button
            className="icon-button"
            disabled={index === images.length - 1}
            onClick={() => setIndex(index + 1)}
            aria-label="Next"
          >
            ›
          </button>
          <a className="link" href={api.artifactUrl(image.id)} target="_blank" rel="noreferrer">
            Open original
          </a>
        </figcaption>
      </figure>
    </div>
  );
}
