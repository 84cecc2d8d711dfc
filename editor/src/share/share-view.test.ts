import { describe, expect, it } from 'vitest';
import { expiryDaysOf, expiryText, shareStateText, shareTokenOf } from './share-view';

const NOW = Date.parse('2026-12-02T04:00:00Z');
const TOKEN = `clab_shr_${'a'.repeat(16)}_${'b'.repeat(64)}`;

describe('share view', () => {
  it('reads the token of a /s/<token> path only', () => {
    expect(shareTokenOf(`/s/${TOKEN}`)).toBe(TOKEN);
    expect(shareTokenOf(`/s/${TOKEN}/`)).toBe(TOKEN);
    expect(shareTokenOf('/s/')).toBeNull();
    expect(shareTokenOf(`/x/s/${TOKEN}`)).toBeNull();
    expect(shareTokenOf('/s/%E0%A4%A')).toBeNull();
    expect(shareTokenOf('/')).toBeNull();
  });

  it('says when a link ends', () => {
    expect(expiryText('2026-12-09T04:00:00Z', NOW)).toBe('expires in 7 days');
    expect(expiryText('2026-12-03T03:00:00Z', NOW)).toBe('expires in 23 hours');
    expect(expiryText('2026-12-02T04:10:00Z', NOW)).toBe('expires in 1 hour');
    expect(expiryText('2026-12-02T03:59:00Z', NOW)).toBe('expired');
    expect(shareStateText({ status: 'revoked', expiresAt: '2026-12-09T04:00:00Z' }, NOW)).toBe(
      'revoked',
    );
    expect(shareStateText({ status: 'active', expiresAt: '2026-12-09T04:00:00Z' }, NOW)).toBe(
      'expires in 7 days',
    );
  });

  it('takes only the expiries the server accepts', () => {
    expect(expiryDaysOf('30')).toBe(30);
    expect(expiryDaysOf('0')).toBeNull();
    expect(expiryDaysOf('366')).toBeNull();
    expect(expiryDaysOf('1.5')).toBeNull();
    expect(expiryDaysOf('')).toBeNull();
  });
});
