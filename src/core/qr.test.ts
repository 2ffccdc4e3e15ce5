// The receive page's QR encoder (src/core/qr.ts) against the `qrcode` package: every
// module equal, for each mask and each version it supports.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import QRCode from 'qrcode';
import { encodeQr } from './qr.js';

function reference(text: string, mask: number): { size: number; version: number; dark: (x: number, y: number) => boolean } {
  const qr = QRCode.create([{ data: Buffer.from(text, 'utf8'), mode: 'byte' }], { errorCorrectionLevel: 'M', maskPattern: mask as QRCode.QRCodeMaskPattern });
  const size = qr.modules.size;
  return { size, version: qr.version, dark: (x, y) => qr.modules.get(y, x) === 1 };
}

describe('QR codes on the receive page', () => {
  const texts = ['a', '0123456789abcdef0123456789abcdef01234567', 'x'.repeat(20), 'tally '.repeat(10), 'é☕'.repeat(12), 'y'.repeat(106)];
  for (const text of texts) {
    it(`match qrcode module for module (${text.length} chars)`, () => {
      for (let mask = 0; mask < 8; mask++) {
        const ours = encodeQr(text, mask);
        const ref = reference(text, mask);
        assert.equal(ours.version, ref.version, 'version');
        assert.equal(ours.size, ref.size);
        for (let y = 0; y < ours.size; y++) for (let x = 0; x < ours.size; x++) assert.equal(ours.dark(x, y), ref.dark(x, y), `mask ${mask}, module (${x}, ${y})`);
      }
    });
  }
  it('refuses what does not fit in version 6', () => {
    assert.throws(() => encodeQr('z'.repeat(107)), /at most 106 bytes/);
    assert.ok(encodeQr('0'.repeat(40)).mask >= 0);
  });
});
