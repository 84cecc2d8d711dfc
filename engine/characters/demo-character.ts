/**
 * The demo character the shipped templates use ("demo-mira"), created on first start so a
 * newcomer can run a template — and see the consistency gate score her frames — before making a
 * character of their own. Her reference image is a portrait cropped by ffmpeg from a sample photo
 * that ships inside @vladmandic/face-api (demo/sample1.jpg, the package's own face-recognition
 * demo): a real face the detector finds, with no binary file in our repo and no download.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ArtifactService } from '../artifacts/artifact-service';
import { LOCAL_VIEWER, PUBLIC_OWNER } from '../auth/viewer';
import type { ArtifactRef } from '../graph/values';
import { runFfmpeg, type FfmpegBinaries } from '../media/ffmpeg';
import type { CharacterRecord, DocumentStore } from '../stores/ports';

export const DEMO_CHARACTER_ID = 'demo-mira';

const WIDTH = 512;
const HEIGHT = 640;
/**
 * The middle person of sample1.jpg (1920×1280): her detected face box widened to a 4:5 bust
 * with the other two people out of frame. demo-character.test.ts checks that exactly one face
 * is found in the result.
 */
const PORTRAIT_CROP = 'crop=488:610:688:288';

export function demoPortraitSource(): string {
  const packageJson = createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json');
  return join(dirname(packageJson), 'demo', 'sample1.jpg');
}

/** The demo portrait as PNG bytes. */
export async function renderDemoPortrait(binaries: FfmpegBinaries): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'charlab-demo-'));
  try {
    const file = join(dir, 'mira.png');
    await runFfmpeg({
      what: 'cropping the demo character',
      binaries,
      build: (command) =>
        command
          .input(demoPortraitSource())
          .complexFilter(`[0:v]${PORTRAIT_CROP},scale=${WIDTH}:${HEIGHT}[out]`)
          .output(file)
          .outputOptions(['-map', '[out]', '-frames:v', '1', '-y']),
    });
    return await readFile(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The description builds before the portrait gave their drawn demo character. */
export const DRAWN_DEMO_DESCRIPTION = 'a young explorer with dark hair and a red coat';

/**
 * Creates the demo character unless it exists. The one an older build created (a drawn bust no
 * face detector finds: its description, never edited) gets the portrait; any other is left as
 * it is, so a start with the demo in place does no work. Returns true when it was written.
 *
 * The demo belongs to no user (`public`): with accounts on, every user can read it and run the
 * templates that use it, and only admins change it. One that an older build made for the local
 * user is handed over the same way (moving it is no change of its content: not a write here).
 */
export async function ensureDemoCharacter(
  documents: DocumentStore,
  artifacts: ArtifactService,
  binaries: FfmpegBinaries,
): Promise<boolean> {
  const existing = await publishLocalDemo(documents);
  const drawnByOlderBuild =
    existing?.revision === 1 && existing.description === DRAWN_DEMO_DESCRIPTION;
  if (existing && !drawnByOlderBuild) return false;
  const bytes = await renderDemoPortrait(binaries);
  const reference = await artifacts.putBytes(
    bytes,
    'image/png',
    { width: WIDTH, height: HEIGHT },
    PUBLIC_OWNER,
    'mira.png',
  );
  // Bytes stored before (by an older demo, or anyone) keep their first owner: the shipped
  // portrait is public whoever stored it first.
  await publishArtifacts(documents, [reference], () => true);
  const now = new Date().toISOString();
  await documents.characters.put({
    id: DEMO_CHARACTER_ID,
    name: 'Mira',
    description: 'a young woman with long dark hair, a silver-and-black jacket and bold make-up',
    triggerWord: 'mira_char',
    lora: { name: 'mira_v1', weight: 0.8 },
    referenceImages: [reference],
    ownerId: PUBLIC_OWNER,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
    revision: 1,
  });
  return true;
}

/**
 * Moves a demo character owned by the local user (made before accounts existed) and the
 * reference images it holds as the local user's to `public`. Idempotent. Returns the demo
 * record as it is now, or null when there is none.
 */
async function publishLocalDemo(documents: DocumentStore): Promise<CharacterRecord | null> {
  const existing = await documents.characters.get(DEMO_CHARACTER_ID);
  if (existing?.ownerId !== LOCAL_VIEWER.id) return existing;
  // Only the local user's images: an image a member uploaded stays theirs (an admin may have
  // added one to the demo; readers of the demo then miss that one image, never more).
  await publishArtifacts(
    documents,
    existing.referenceImages,
    (ownerId) => ownerId === LOCAL_VIEWER.id,
  );
  const published = { ...existing, ownerId: PUBLIC_OWNER };
  await documents.characters.put(published);
  return published;
}

/** Makes the artifacts among `refs` whose owner `fromOwner` accepts public. */
async function publishArtifacts(
  documents: DocumentStore,
  refs: readonly ArtifactRef[],
  fromOwner: (ownerId: string) => boolean,
): Promise<void> {
  for (const ref of refs) {
    const record = await documents.artifacts.get(ref.id);
    if (!record || record.ownerId === PUBLIC_OWNER || !fromOwner(record.ownerId)) continue;
    await documents.artifacts.put({ ...record, ownerId: PUBLIC_OWNER });
  }
}
