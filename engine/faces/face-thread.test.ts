/**
 * The face thread answers exactly what detection on the calling thread answers, keeps
 * LabErrors' codes across the thread boundary, and comes back after it was stopped.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { detectFaces, faceDistance } from './face-embedder';
import { detectFacesOffThread, faceApiEmbedder, stopFaceThread } from './face-thread';
import { samplePeople } from './testing/sample-faces';

describe('face detection on the face thread', () => {
  afterAll(() => stopFaceThread());

  it('finds the same face with the same descriptor as on the calling thread', async () => {
    const [{ face }] = await samplePeople(1);
    const [here, there] = await Promise.all([detectFaces(face), detectFacesOffThread(face)]);
    expect(there.faces).toHaveLength(1);
    expect(there.faces[0].descriptor).toBeInstanceOf(Float32Array);
    expect(faceDistance(here.faces[0].descriptor, there.faces[0].descriptor)).toBeLessThan(1e-4);
    const embedded = await faceApiEmbedder().embed(face);
    expect(embedded && faceDistance(embedded, here.faces[0].descriptor)).toBeLessThan(1e-4);
  });

  it('keeps the code of an error raised on the thread', async () => {
    await expect(detectFacesOffThread(Buffer.from('not an image'))).rejects.toMatchObject({
      name: 'LabError',
      code: 'image_undecodable',
    });
  });

  it('starts a new thread after the last one was stopped', async () => {
    const [{ face }] = await samplePeople(1);
    await stopFaceThread();
    expect((await detectFacesOffThread(face)).faces).toHaveLength(1);
  });
});
