/**
 * Who a request acts for, and what they may see. With accounts off (the default) every
 * request is the one local user, who is also the admin. With LAB_AUTH=on it is the signed-in
 * user or the owner of the API token. A record is readable by its owner and by admins, and
 * `public` records (shipped things such as the demo character) by everyone; it is writable by
 * its owner and by admins. Anything else is reported as missing, never as forbidden, so ids of
 * other users' things cannot be probed.
 */
import type { UserRole } from '../stores/ports';

export interface Viewer {
  id: string;
  username: string;
  role: UserRole;
  /** How the request proved who it is; `local` when accounts are off. */
  via: 'local' | 'session' | 'token';
}

/** The single user of a server without accounts. */
export const LOCAL_VIEWER: Viewer = Object.freeze({
  id: 'local',
  username: 'local',
  role: 'admin',
  via: 'local',
});

/** The owner of shipped records every user may read but only admins change. */
export const PUBLIC_OWNER = 'public';

export function canRead(record: { ownerId: string }, viewer: Viewer): boolean {
  return viewer.role === 'admin' || record.ownerId === viewer.id || record.ownerId === PUBLIC_OWNER;
}

export function canWrite(record: { ownerId: string }, viewer: Viewer): boolean {
  return viewer.role === 'admin' || record.ownerId === viewer.id;
}

/** The owners whose records a viewer's lists show: their own and the shipped ones. */
export function listedOwners(viewer: Viewer): string[] {
  return viewer.id === PUBLIC_OWNER ? [PUBLIC_OWNER] : [viewer.id, PUBLIC_OWNER];
}
