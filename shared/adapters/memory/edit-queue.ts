/**
 * The edit queue and its poison queue (shared/adapters/azure/edit-queue.ts) in memory: messages kept in
 * arrays a test or bench reads and empties, each sent message with the time it becomes visible.
 */
import type { EditMessage, EditQueue, PoisonQueue } from '../../ports/edit-queue.js';

export interface MemoryEditQueue extends EditQueue {
  /** Messages sent, with the time (epoch ms) they become visible. */
  sent: { message: EditMessage; visibleAt: number }[];
}

export function memoryEditQueue(now: () => Date): MemoryEditQueue {
  const sent: MemoryEditQueue['sent'] = [];
  return {
    sent,
    send: async (message, delayMs = 0) =>
      void sent.push({ message, visibleAt: now().getTime() + Math.max(0, delayMs) }),
    isEmpty: async () => sent.length === 0,
  };
}

export interface MemoryPoisonQueue extends PoisonQueue {
  /** Messages the host gave up on, handed out (and emptied) by the next `receive`. */
  poisoned: { text: string; dequeueCount: number }[];
}

export function memoryPoisonQueue(): MemoryPoisonQueue {
  const poisoned: MemoryPoisonQueue['poisoned'] = [];
  return {
    poisoned,
    receive: async () => poisoned.splice(0).map((p) => ({ ...p, remove: async () => {} })),
  };
}
