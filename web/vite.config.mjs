// Vite builds the web application into the directory the gateway serves.
// The output directory comes from HOLDFAST_WEB_OUT (CMake sets it to
// <build>/web) or from `vite build --outDir DIR`; default: web/dist.
import { defineConfig } from 'vite';

export default defineConfig({
  // Preact's automatic JSX runtime through esbuild: no framework plugin needed.
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: process.env.HOLDFAST_WEB_OUT || 'dist',
    emptyOutDir: true,
    target: 'es2020',
    // Content-Security-Policy is default-src 'self': no inline scripts or data: URLs.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: false,
  },
});
