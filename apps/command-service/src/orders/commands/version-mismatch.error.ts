/** The client's If-Match names a version the order is no longer (or not yet) at. */
export class VersionMismatch extends Error {
  readonly code = 'VERSION_MISMATCH';

  constructor(readonly currentVersion: number | undefined) {
    super('the order is at another version than If-Match names');
    this.name = 'VersionMismatch';
  }
}
