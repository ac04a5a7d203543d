// @taskmesh/cli: the `taskmesh` command (bin: dist/main.js). The program is exported for tests and embedding.
export {};
