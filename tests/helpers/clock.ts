// A clock the test moves by hand, for code that takes `now`, so a test waits for events instead of time.

export interface TestClock {
  /** The injected `now`: the time the test last set. */
  now(): number;
  advance(ms: number): void;
  /** Resolves at the next read of the clock: the code under test has looked at the time since. */
  nextRead(): Promise<void>;
}

export function testClock(start = Date.now()): TestClock {
  let time = start;
  const readers: (() => void)[] = [];
  return {
    now() {
      for (const wake of readers.splice(0)) wake();
      return time;
    },
    advance(ms) {
      time += ms;
    },
    nextRead() {
      return new Promise((resolve) => readers.push(resolve));
    },
  };
}
