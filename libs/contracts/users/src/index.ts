export * from './users';
export * from './keys';
export * from './numbers';
export * from './streams';
