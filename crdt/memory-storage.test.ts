import { describe, expect, it } from 'vitest';
import { MemoryStorage } from './memory-storage.js';
import { storageContract } from './storage-contract.js';

storageContract('MemoryStorage', () => Promise.resolve(new MemoryStorage()));

describe('MemoryStorage', () => {
  it('reopens on the same data, as a restarted process reopens its directory', async () => {
    const first = new MemoryStorage();
    await first.put(['doc', 'a'], Uint8Array.of(1));
    await first.close();
    const second = new MemoryStorage(first.data);
    expect(await second.get(['doc', 'a'])).toEqual(Uint8Array.of(1));
  });
});
