// LazySession: described before it exists, created once by the first run (however many runs race to it),
// created again after a failed creation, and never after the model is released.
import type { InferenceSession } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { LazySession } from '../../src/models/lazy-session.js';

const metadata = {
  inputMetadata: [{ name: 'sample', isTensor: true as const, type: 'float32' as const, shape: ['batch', 3, 'height', 'width'] }],
  outputMetadata: [{ name: 'latent_parameters', isTensor: true as const, type: 'float32' as const, shape: ['batch', 8, 'h', 'w'] }],
  inputNames: ['sample'],
  outputNames: ['latent_parameters'],
};

/** A stand-in session that records its runs and its release. */
function fakeSession(log: string[]): InferenceSession {
  return {
    run: async (feeds: InferenceSession.FeedsType) => {
      log.push(`run ${Object.keys(feeds).join(',')}`);
      return {};
    },
    release: async () => {
      log.push('release');
    },
  } as unknown as InferenceSession;
}

describe('LazySession', () => {
  it('describes the graph without creating it, then creates it once for concurrent first runs', async () => {
    const log: string[] = [];
    let created = 0;
    const lazy = new LazySession(metadata, async () => {
      created++;
      await new Promise((r) => setTimeout(r, 10));
      return fakeSession(log);
    });
    expect(lazy.inputNames).toEqual(['sample']);
    expect(lazy.outputMetadata).toEqual(metadata.outputMetadata);
    expect(lazy.opened).toBe(false);
    expect(created).toBe(0);
    await Promise.all([lazy.run({}), lazy.run({}), lazy.run({})]);
    expect(created).toBe(1);
    expect(log).toEqual(['run ', 'run ', 'run ']);
    await lazy.release();
    expect(log.at(-1)).toBe('release');
    await expect(lazy.run({})).rejects.toThrow(/released/);
    expect(created).toBe(1);
  });

  it('tries again on the next run when creating failed', async () => {
    const log: string[] = [];
    let attempts = 0;
    const lazy = new LazySession(metadata, async () => {
      if (++attempts === 1) throw new Error('disk full');
      return fakeSession(log);
    });
    await expect(lazy.run({})).rejects.toThrow('disk full');
    expect(lazy.opened).toBe(false);
    await lazy.run({});
    expect(attempts).toBe(2);
    expect(lazy.opened).toBe(true);
  });

  it('releases nothing when it was never created', async () => {
    let created = 0;
    const lazy = new LazySession(metadata, async () => {
      created++;
      return fakeSession([]);
    });
    await lazy.release();
    expect(created).toBe(0);
  });
});
