/** The local Serviceplatform (SF2900) simulator: importable from source (tsx) and from dist/simulator. */
export * from './simulator';
export * from './certs';
