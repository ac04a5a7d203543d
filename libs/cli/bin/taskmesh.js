#!/usr/bin/env node
// The `taskmesh` bin. A file in the repository rather than dist/main.js itself: npm links a workspace's bin at
// install time only when its file exists then, and dist/ is built after `npm install`.
import '../dist/main.js';
