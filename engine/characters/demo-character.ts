/**
 * The demo character the shipped templates use ("demo-mira"), created on first start so a
 * newcomer can run a template before making a character of their own. Her reference image is
 * drawn by ffmpeg from an expression (no binary files in the repo, no downloads).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArtifactService } from '../artifacts/artifact-service';
import { runFfmpeg, type FfmpegBinaries } from '../media/ffmpeg';
import type { DocumentStore } from '../stores/ports';

export const DEMO_CHARACTER_ID = 'demo-mira';

const WIDTH = 512;
const HEIGHT = 640;
// A stylised bust: a warm face, dark hair, a red coat, on a dusk-blue background.
const HEAD = `lt(hypot(X-256,Y-230),95)`;
const HAIR = `lt(hypot(X-256,Y-205),118)*lt(Y,250)`;
const COAT = `lt(hypot((X-256)*0.75,Y-640),250)`;
const channel = (face: number, hair: number, coat: number, background: string) =>
  `if(${HEAD},${face},if(${HAIR},${hair},if(${COAT},${coat},${background})))`;

/** Creates the demo character unless it exists. Returns true when it was created. */
export async function ensureDemoCharacter(
  documents: DocumentStore,
  artifacts: ArtifactService,
  binaries: FfmpegBinaries,
): Promise<boolean> {
  if (await documents.characters.get(DEMO_CHARACTER_ID)) return false;
  const dir = await mkdtemp(join(tmpdir(), 'charlab-demo-'));
  try {
    const file = join(dir, 'mira.png');
    await runFfmpeg({
      what: 'drawing the demo character',
      binaries,
      build: (command) =>
        command
          .input(`nullsrc=s=${WIDTH}x${HEIGHT}`)
          .inputOptions(['-f', 'lavfi'])
          .complexFilter(
            `[0:v]geq=r='${channel(236, 52, 196, '30+Y/12')}':g='${channel(196, 36, 40, '40+Y/20')}':b='${channel(168, 30, 48, '90+Y/10')}',format=rgb24[out]`,
          )
          .output(file)
          .outputOptions(['-map', '[out]', '-frames:v', '1', '-y']),
    });
    const reference = await artifacts.putBytes(
      await readFile(file),
      'image/png',
      { width: WIDTH, height: HEIGHT },
      'local',
      'mira.png',
    );
    const now = new Date().toISOString();
    await documents.characters.put({
      id: DEMO_CHARACTER_ID,
      name: 'Mira',
      description: 'a young explorer with dark hair and a red coat',
      triggerWord: 'mira_char',
      lora: { name: 'mira_v1', weight: 0.8 },
      referenceImages: [reference],
      ownerId: 'local',
      createdAt: now,
      updatedAt: now,
      revision: 1,
    });
    return true;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
