/**
 * The simulated clock's event queue: a binary min-heap ordered by (time, sequence). The sequence
 * number is taken when an entry is (re)scheduled, so timers due at the same instant fire in the
 * order they were scheduled, whatever the heap's shape: the order depends only on what the
 * program did, never on how the heap happened to be laid out.
 */

/** One scheduled callback. Mutable so an interval can be pushed back without a new object. */
export interface QueuedTimer {
  /** Virtual time (ms since the epoch) at which it fires. */
  at: number;
  /** Tie-breaker: the order of scheduling. */
  seq: number;
  /**
   * No longer waiting: fired or cancelled. A cancelled entry stays in the heap and is skipped
   * when it surfaces; cancelling a done entry changes nothing.
   */
  done: boolean;
}

function before(a: QueuedTimer, b: QueuedTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** A min-heap of timers with lazy deletion of cancelled ones. */
export class TimerQueue<T extends QueuedTimer> {
  private readonly heap: T[] = [];
  private live = 0;

  /** Timers scheduled and not cancelled. */
  get size(): number {
    return this.live;
  }

  /** Adds `timer` (again, for an interval that fired: it is live once more). */
  push(timer: T): void {
    timer.done = false;
    this.heap.push(timer);
    this.live += 1;
    this.up(this.heap.length - 1);
  }

  /** Marks `timer` cancelled; it is dropped when it reaches the top. */
  cancel(timer: T): void {
    if (timer.done) return;
    timer.done = true;
    this.live -= 1;
  }

  /** The earliest live timer, without removing it. */
  peek(): T | undefined {
    this.dropCancelled();
    return this.heap[0];
  }

  /** Removes and returns the earliest live timer. */
  pop(): T | undefined {
    this.dropCancelled();
    const top = this.heap[0];
    if (top === undefined) return undefined;
    this.removeTop();
    this.live -= 1;
    top.done = true;
    return top;
  }

  private dropCancelled(): void {
    for (let top = this.heap[0]; top?.done === true; top = this.heap[0]) this.removeTop();
  }

  private removeTop(): void {
    const last = this.heap.pop();
    if (last === undefined || this.heap.length === 0) return;
    this.heap[0] = last;
    this.down(0);
  }

  private up(index: number): void {
    const item = this.heap[index];
    if (item === undefined) return;
    let position = index;
    while (position > 0) {
      const parentIndex = (position - 1) >> 1;
      const parent = this.heap[parentIndex];
      if (parent === undefined || !before(item, parent)) break;
      this.heap[position] = parent;
      position = parentIndex;
    }
    this.heap[position] = item;
  }

  private down(index: number): void {
    const item = this.heap[index];
    if (item === undefined) return;
    const length = this.heap.length;
    let position = index;
    for (;;) {
      const left = 2 * position + 1;
      if (left >= length) break;
      const right = left + 1;
      const leftItem = this.heap[left];
      const rightItem = this.heap[right];
      let child = left;
      let childItem = leftItem;
      if (rightItem !== undefined && leftItem !== undefined && before(rightItem, leftItem)) {
        child = right;
        childItem = rightItem;
      }
      if (childItem === undefined || !before(childItem, item)) break;
      this.heap[position] = childItem;
      position = child;
    }
    this.heap[position] = item;
  }
}
