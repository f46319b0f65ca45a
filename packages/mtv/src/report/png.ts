// SVG -> PNG with resvg (a Rust renderer shipped as a prebuilt registry package; no browser). Text uses
// the machine's fonts (DejaVu Sans when present).
import { Resvg } from '@resvg/resvg-js';

export function svgToPng(svg: string, opts: { scale?: number } = {}): Uint8Array {
  const r = new Resvg(svg, {
    background: '#ffffff',
    fitTo: { mode: 'zoom', value: opts.scale ?? 2 },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return r.render().asPng();
}
