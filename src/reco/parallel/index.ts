// Reconstruction on worker threads: the image pipeline of ../image, on every core.
export { defaultThreads, ImagePool } from './ImagePool';
export { reconstructEvents, type ReconstructedEvent } from './reconstructEvents';
