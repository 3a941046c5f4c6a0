import { randomBytes, randomInt } from 'node:crypto';

/** A MongoDB ObjectId as text. */
export const OBJECT_ID = /^[0-9a-f]{24}$/i;

const COUNTER_SPAN = 0x1000000;

export interface ObjectIdSeed {
  /** The 5-byte value unique to a process, as 10 hex digits. */
  processUnique: string;
  /** The first 3-byte counter value. */
  counter: number;
}

/**
 * ObjectIds as MongoDB drivers make them: 4 bytes of seconds since the epoch, 5 bytes unique to the process,
 * and a 3-byte counter that starts at a random value. Pinning the last two reproduces documented ids.
 */
export class ObjectIdGenerator {
  private readonly processUnique: string;
  private counter: number;

  constructor(seed?: ObjectIdSeed) {
    if (seed && !/^[0-9a-f]{10}$/i.test(seed.processUnique)) throw new Error('processUnique must be 10 hex digits');
    if (seed && !(Number.isInteger(seed.counter) && seed.counter >= 0 && seed.counter < COUNTER_SPAN)) throw new Error('counter must fit in 3 bytes');
    this.processUnique = (seed?.processUnique ?? randomBytes(5).toString('hex')).toLowerCase();
    this.counter = seed?.counter ?? randomInt(COUNTER_SPAN);
  }

  /** A new id stamped with `at`. */
  next(at: Date): string {
    const seconds = Math.floor(at.getTime() / 1000) % 2 ** 32;
    const id = hex(seconds, 8) + this.processUnique + hex(this.counter, 6);
    this.counter = (this.counter + 1) % COUNTER_SPAN;
    return id;
  }
}

/** The creation second an ObjectId carries. */
export function objectIdTime(id: string): Date {
  if (!OBJECT_ID.test(id)) throw new Error(`not an ObjectId: ${id}`);
  return new Date(parseInt(id.slice(0, 8), 16) * 1000);
}

const hex = (n: number, digits: number): string => n.toString(16).padStart(digits, '0');
