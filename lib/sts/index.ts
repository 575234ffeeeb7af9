export * from './constants';
export * from './request';
export * from './response';
export * from './cache';
export * from './client';
export * from './token-envelope';
export * from './verify-token';
