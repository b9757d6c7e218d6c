// The container's main process: keeps the container up until it is stopped. The harness talks to agents it
// starts with `docker exec -i`, one per worker, never to this process.
const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setInterval(() => {}, 1 << 30);
