import { bankArray, TID, type MidasEvent } from './midas';
import { RecoInputError } from './image/errors';

/**
 * The camera image of a MIDAS event: the named bank as 16-bit unsigned pixels (a view, no
 * copy). Undefined when the event has no such bank (slow control, PMT-only events); a bank of
 * the wrong type is refused with the event and what was found.
 */
export function cameraImageOf(event: MidasEvent, bankName: string): Uint16Array | undefined {
  const bank = event.banks.find((b) => b.name === bankName);
  if (!bank) return undefined;
  if (bank.type !== TID.UINT16 && bank.type !== TID.INT16) {
    throw new RecoInputError(
      `event ${event.serial} (offset ${event.offset}): bank ${bankName} has MIDAS type ${bank.type}, expected 4 (u16)`,
    );
  }
  const pixels = bankArray(bank);
  return new Uint16Array(pixels.buffer, pixels.byteOffset, pixels.length);
}

/** The side of a square camera image, or an error naming the pixel count. */
export function squareSide(image: Uint16Array): number {
  const side = Math.round(Math.sqrt(image.length));
  if (side * side !== image.length || side === 0)
    throw new RecoInputError(`camera image of ${image.length} pixels is not square`);
  return side;
}
