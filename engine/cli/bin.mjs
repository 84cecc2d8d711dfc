#!/usr/bin/env node
// The `charlab` command. The CLI is TypeScript run through tsx, so there is no build step.
import { register } from 'tsx/esm/api';

register();
const { main, processIO } = await import('./main.ts');
const code = await main(process.argv.slice(2), processIO());
// Exit explicitly: Temporal's native runtime and socket clients may keep the loop alive.
process.exit(code);
