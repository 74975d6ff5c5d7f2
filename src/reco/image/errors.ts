/** Input the reconstruction cannot use (wrong image size or type, no pedestal…); says why. */
export class RecoInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecoInputError';
  }
}
