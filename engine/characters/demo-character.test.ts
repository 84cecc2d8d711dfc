import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArtifactService } from '../artifacts/artifact-service';
import { PUBLIC_OWNER } from '../auth/viewer';
import { detectFaces } from '../faces/face-embedder';
import { FileBlobStore } from '../stores/blobs/files';
import { SqliteDocumentStore } from '../stores/documents/sqlite';
import {
  DEMO_CHARACTER_ID,
  DRAWN_DEMO_DESCRIPTION,
  ensureDemoCharacter,
  renderDemoPortrait,
} from './demo-character';

const binaries = { ffmpegPath: 'ffmpeg', ffprobePath: 'ffprobe' };

describe('the demo character', () => {
  let dataDir: string;
  let documents: SqliteDocumentStore;
  let artifacts: ArtifactService;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'charlab-demo-test-'));
    documents = new SqliteDocumentStore(dataDir);
    artifacts = new ArtifactService(new FileBlobStore(dataDir), documents);
  });

  afterEach(async () => {
    await documents.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('has a portrait in which the detector finds exactly one face, so the gate can score her', async () => {
    const detections = await detectFaces(await renderDemoPortrait(binaries));
    expect(detections.faces).toHaveLength(1);
    expect(detections.faces[0].score).toBeGreaterThan(0.9);
  });

  it('gives an unedited demo character of an older build the portrait, and leaves an edited one alone', async () => {
    const drawn = await artifacts.putBytes(Buffer.from('an old drawn bust'), 'image/png');
    const old = {
      id: DEMO_CHARACTER_ID,
      name: 'Mira',
      description: DRAWN_DEMO_DESCRIPTION,
      referenceImages: [drawn],
      ownerId: 'local',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      revision: 1,
    };
    await documents.characters.put(old);
    expect(await ensureDemoCharacter(documents, artifacts, binaries)).toBe(true);
    const upgraded = await documents.characters.get(DEMO_CHARACTER_ID);
    expect(upgraded?.referenceImages[0].id).not.toBe(drawn.id);
    expect(upgraded?.createdAt).toBe(old.createdAt);
    // Idempotent: a second start changes nothing.
    expect(await ensureDemoCharacter(documents, artifacts, binaries)).toBe(false);
    expect((await documents.characters.get(DEMO_CHARACTER_ID))?.updatedAt).toBe(
      upgraded?.updatedAt,
    );

    await documents.characters.put({ ...old, revision: 2 });
    expect(await ensureDemoCharacter(documents, artifacts, binaries)).toBe(false);
    expect((await documents.characters.get(DEMO_CHARACTER_ID))?.referenceImages[0].id).toBe(
      drawn.id,
    );
  });

  it('is shipped as public, portrait included, so every user of a server with accounts can use it', async () => {
    expect(await ensureDemoCharacter(documents, artifacts, binaries)).toBe(true);
    const demo = await documents.characters.get(DEMO_CHARACTER_ID);
    expect(demo?.ownerId).toBe(PUBLIC_OWNER);
    const portrait = demo!.referenceImages[0];
    expect((await documents.artifacts.get(portrait.id))?.ownerId).toBe(PUBLIC_OWNER);
    expect(await artifacts.readableByOwner(portrait.id, 'usr_bob')).not.toBeNull();
  });

  it("hands the local user's demo of an older build to public at start, once", async () => {
    // Made before accounts (and edited, so its content is left alone): the local user's.
    const portrait = await artifacts.putBytes(Buffer.from('a portrait'), 'image/png');
    const added = await artifacts.putBytes(
      Buffer.from('an admin upload'),
      'image/png',
      {},
      'usr_ada',
    );
    const local = {
      id: DEMO_CHARACTER_ID,
      name: 'Mira',
      description: 'edited by the local user',
      referenceImages: [portrait, added],
      ownerId: 'local',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-02T00:00:00.000Z',
      revision: 3,
    };
    await documents.characters.put(local);
    expect(await ensureDemoCharacter(documents, artifacts, binaries)).toBe(false);
    expect(await documents.characters.get(DEMO_CHARACTER_ID)).toEqual({
      ...local,
      ownerId: PUBLIC_OWNER,
    });
    expect((await documents.artifacts.get(portrait.id))?.ownerId).toBe(PUBLIC_OWNER);
    // A user's own upload stays theirs.
    expect((await documents.artifacts.get(added.id))?.ownerId).toBe('usr_ada');
    // Idempotent: nothing more changes.
    expect(await ensureDemoCharacter(documents, artifacts, binaries)).toBe(false);
    expect((await documents.characters.get(DEMO_CHARACTER_ID))?.ownerId).toBe(PUBLIC_OWNER);

    // A demo an admin gave to a user is not taken back.
    await documents.characters.put({ ...local, ownerId: 'usr_ada' });
    await ensureDemoCharacter(documents, artifacts, binaries);
    expect((await documents.characters.get(DEMO_CHARACTER_ID))?.ownerId).toBe('usr_ada');
  });
});
