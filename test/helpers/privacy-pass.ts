// Moved to local/worlds (the local stack uses the same builders).
export * from '../../local/worlds/privacy-pass';
