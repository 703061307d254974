"""Su Data Foundation: the core library shared by the pipeline, the CLI and the portal."""
