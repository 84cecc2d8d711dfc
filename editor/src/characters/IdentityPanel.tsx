/**
 * What face detection made of a character's reference images (the server's
 * `identity.references`, engine/faces/identity.ts), and the characters that look like it.
 * Presentational: the characters page fetches, these components only show.
 */
import { memo } from 'react';
import type { CharacterIdentity, ReferenceFace, SimilarCharacter } from '../api/types';

export type FaceTone = 'ok' | 'note' | 'bad';

/** The words and tone for one reference image's answer. */
export function faceLabel(face: ReferenceFace): { text: string; title: string; tone: FaceTone } {
  switch (face.status) {
    case 'face':
      return face.role === 'identity'
        ? { text: 'Face', title: 'One face: part of the character’s identity', tone: 'ok' }
        : {
            text: 'Style only',
            title: 'One face, kept as a style reference by choice: never compared',
            tone: 'note',
          };
    case 'no-face':
      return {
        text: 'No face · style',
        title: 'No face found: kept as a style reference (look, costume, setting), never compared',
        tone: 'note',
      };
    case 'several-faces':
      return {
        text: `${face.faces} faces · style`,
        title:
          'Several faces: kept only as a style reference; crop it to one face to use it for the identity',
        tone: 'note',
      };
    case 'unreadable':
      return { text: 'Unreadable', title: 'This image could not be decoded', tone: 'bad' };
  }
}

/** The badge under a reference image thumbnail. */
export const ReferenceFaceBadge = memo(function ReferenceFaceBadge({
  face,
}: {
  face: ReferenceFace;
}) {
  const { text, title, tone } = faceLabel(face);
  return (
    <span className={`face-badge face-badge--${tone}`} title={title} data-testid="face-badge">
      {text}
    </span>
  );
});

/** One line about the identity: version, threshold and how many images show the face. */
export function IdentitySummary({ identity }: { identity: CharacterIdentity | undefined }) {
  if (!identity) {
    return (
      <p className="muted" data-testid="identity-summary">
        Face identity not computed yet: it is computed on the first run or similar search.
      </p>
    );
  }
  const faces = identity.references.filter((ref) => ref.role === 'identity').length;
  if (faces === 0) {
    return (
      <p className="identity-warning" role="status" data-testid="identity-summary">
        No reference image shows exactly one face, so consistency checks cannot score this
        character. Add a clear photo of the face.
      </p>
    );
  }
  return (
    <p className="muted" data-testid="identity-summary">
      Identity v{identity.version} from {faces} of {identity.references.length}{' '}
      {identity.references.length === 1 ? 'image' : 'images'} · pass threshold{' '}
      {identity.threshold.toFixed(2)}
    </p>
  );
}

/**
 * The nearest characters with their face distance; the ones under their own threshold (their
 * consistency gate would accept this face) are flagged as look-alikes.
 */
export function SimilarCharacterList({
  similar,
  name,
}: {
  similar: SimilarCharacter[];
  name: string;
}) {
  const lookalikes = similar.filter((hit) => hit.looksAlike);
  return (
    <>
      {lookalikes.length > 0 && (
        <p className="identity-warning" role="alert" data-testid="lookalike-warning">
          {name} looks like {lookalikes.map((hit) => hit.name).join(', ')}: frames of one may pass
          the other’s consistency check. Use clearer or different reference images if they are meant
          to be different people.
        </p>
      )}
      {similar.length === 0 ? (
        <p className="muted">No other character has a face to compare with.</p>
      ) : (
        <ul className="similar__list" data-testid="similar-list">
          {similar.map((hit) => (
            <li key={hit.id} className={hit.looksAlike ? 'is-lookalike' : undefined}>
              <a href={`#/characters/${encodeURIComponent(hit.id)}`}>{hit.name}</a>
              <span className="muted">
                {' '}
                · distance {hit.distance.toFixed(2)}
                {hit.looksAlike ? ` (under its threshold ${hit.threshold.toFixed(2)})` : ''}
              </span>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
