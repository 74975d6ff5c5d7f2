import fs from 'node:fs';
import path from 'node:path';

/** How many delivered alarm changes the bot remembers (enough for days of alarms). */
const REMEMBERED = 5_000;

/**
 * What the bot has delivered, kept in a small JSON file so that a restart neither repeats nor
 * loses messages: the keys of the alarm changes sent, and the time of the newest one.
 */
export class BotState {
  private constructor(
    private readonly file: string,
    private sentKeys: string[],
    /** Changes after this time are looked for when (re)connecting; older ones are history. */
    public lastSeenAt: number,
  ) {}

  static load(file: string, now = Date.now()): BotState {
    try {
      const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as {
        sentKeys?: string[];
        lastSeenAt?: number;
      };
      return new BotState(file, saved.sentKeys ?? [], saved.lastSeenAt ?? now);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // First start: alarms from before the bot existed are history, not news.
      return new BotState(file, [], now);
    }
  }

  has(key: string): boolean {
    return this.sentKeys.includes(key);
  }

  /** Records delivered changes and writes the file atomically (a crash leaves the old one). */
  delivered(keys: string[], changedAt: number): void {
    this.sentKeys = [...this.sentKeys, ...keys].slice(-REMEMBERED);
    this.lastSeenAt = Math.max(this.lastSeenAt, changedAt);
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(
      temporary,
      JSON.stringify({ lastSeenAt: this.lastSeenAt, sentKeys: this.sentKeys }),
    );
    fs.renameSync(temporary, this.file);
  }
}
