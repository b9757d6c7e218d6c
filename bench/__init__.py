"""uvnet's benchmark suite (bench/README.md): uvnet against Node 24, raw uvloop and asyncio streams."""
