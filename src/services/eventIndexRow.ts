import type { MidasEventHeader } from '../reco/midas';

/** What the event index keeps of an event (INGEST's row; the live display's event before it). */
export function eventIndexRow(
  event: MidasEventHeader & { banks: ReadonlyArray<{ name: string }> },
) {
  return {
    serial: event.serial,
    eventId: event.eventId,
    triggerMask: event.triggerMask,
    timestamp: new Date(event.time * 1000),
    fileOffset: event.offset,
    sizeBytes: 16 + event.dataSize,
    bankNames: event.banks.map((bank) => bank.name),
  };
}
