// The pinned AWS SDK warns once per process that its releases after January 2027
// need Node 22; the project runs on Node 20.19+ today (docs/STATUS.md tracks the move).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
