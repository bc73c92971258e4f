/**
 * The composite's EXIF never carries the photo's EXIF thumbnail (a small copy of the photo before the
 * edit), and a damaged GPS pointer neither stops the composite nor leaves a GPS position.
 */
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { composeFullSize } from '../../shared/adapters/imaging/compose.js';
import { rectMask } from '../helpers/images.js';
import { exifWithThumbnail, readExif, TAG, withApp1 } from '../helpers/photo-metadata.js';

let thumbnail: Buffer;
let photo: Buffer;
let mask: Buffer;
let edit: Buffer;
beforeAll(async () => {
  const solid = (width: number, height: number, colour: string) =>
    sharp({ create: { width, height, channels: 3, background: colour } });
  thumbnail = await solid(32, 24, '#00ff00').jpeg().toBuffer();
  photo = await solid(320, 240, '#336699').jpeg().toBuffer();
  mask = await rectMask(320, 240, { x: 40, y: 40, width: 80, height: 60 });
  edit = await solid(320, 240, '#ff0000').png().toBuffer();
});

describe("the photo's EXIF in the composite", () => {
  it('keeps the camera and drops the thumbnail, its image bytes gone from the file', async () => {
    const withThumbnail = withApp1(photo, exifWithThumbnail(thumbnail));
    expect(readExif((await sharp(withThumbnail).metadata()).exif!).hasThumbnail).toBe(true);
    const { bytes } = await composeFullSize(withThumbnail, mask, edit);
    const exif = readExif((await sharp(bytes).metadata()).exif!);
    expect(exif.text.get(TAG.Make)).toBe('Thumbcam');
    expect(exif.hasThumbnail).toBe(false);
    expect(bytes.includes(thumbnail.subarray(0, 160))).toBe(false);
  });

  it('makes the composite of a photo whose GPS pointer leads past its EXIF, with no GPS in it', async () => {
    const damaged = withApp1(photo, exifWithThumbnail(thumbnail, 60_000));
    const image = await composeFullSize(damaged, mask, edit);
    expect(image).toMatchObject({ width: 320, height: 240 });
    const { exif } = await sharp(image.bytes).metadata();
    expect(exif === undefined || !readExif(exif).hasGps).toBe(true);
  });
});
