import type { Random } from './random';

/** DGH0 (digitizer header) and DIG0 (u16 waveforms) of a CYGNO PMT readout: 4 channels. */
export function pmtWaveforms(
  random: Random,
  pulses: number,
  channels = 4,
  samples = 1024,
): { header: Uint32Array; waveforms: Uint16Array } {
  const waveforms = new Uint16Array(channels * samples);
  for (let c = 0; c < channels; c++) {
    const baseline = 3_700 + random.uniform(-20, 20);
    const offset = c * samples;
    for (let s = 0; s < samples; s++)
      waveforms[offset + s] = Math.round(baseline + 3 * random.gaussian());
    for (let p = 0; p < pulses; p++) {
      const t0 = random.uniform(100, samples - 200);
      const amplitude = random.uniform(200, 1_500);
      for (let s = Math.floor(t0); s < Math.min(samples, t0 + 150); s++) {
        const dt = s - t0;
        const pulse = amplitude * (Math.exp(-dt / 30) - Math.exp(-dt / 4)); // negative PMT pulse
        waveforms[offset + s] = Math.max(0, waveforms[offset + s] - pulse);
      }
    }
  }
  return { header: Uint32Array.from([1, channels, samples, Date.now() >>> 0]), waveforms };
}
