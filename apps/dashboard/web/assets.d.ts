// Stylesheets are bundled by esbuild (scripts/build.mjs) into main.css; importing one has no value.
declare module '*.css';
