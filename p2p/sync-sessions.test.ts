import { initSyncState } from '@automerge/automerge';
import { describe, expect, it } from 'vitest';
import type { DocumentId, PeerIdString } from '../core/ids.js';
import { SyncSessions } from './sync-sessions.js';

const peer = 'peer-Site7' as PeerIdString;
const doc = 'res/a' as DocumentId;

describe('SyncSessions', () => {
  it('marks the next message of a session started afresh as fresh, though a message of the old session made a state meanwhile', () => {
    const sessions = new SyncSessions();
    sessions.setState(peer, doc, initSyncState());
    sessions.startAfresh(peer, doc);
    expect(sessions.hasState(peer, doc)).toBe(false);
    // The peer's message of its old session comes in before ours leaves.
    sessions.setState(peer, doc, initSyncState());
    expect(sessions.takeAfresh(peer, doc)).toBe(true);
    expect(sessions.hasState(peer, doc)).toBe(false);
    // Once only.
    expect(sessions.takeAfresh(peer, doc)).toBe(false);
  });

  it('keeps no session for a peer whose documents are all forgotten, marks included', () => {
    const sessions = new SyncSessions();
    sessions.startAfresh(peer, doc);
    expect(sessions.peerCount()).toBe(1);
    sessions.forgetDocument(peer, doc);
    expect(sessions.peerCount()).toBe(0);
    expect(sessions.takeAfresh(peer, doc)).toBe(false);
  });
});
