;; Adler-32 with WebAssembly SIMD, 16 bytes a step — the source of adler32Wasm.ts
;; (`npm run build:wasm` turns this text into the module bytes there; a unit test checks they
;; agree). Same scheme as zlib's vectorised adler32: per 16-byte block, the byte sum goes to
;; s1 and the position-weighted sum (16 for the first byte … 1 for the last) to s2, and s2 also
;; takes 16 × s1 as it was before the block; the lanes are reduced mod 65521 every 5536 bytes
;; (zlib's NMAX, 5552, rounded down to whole blocks), before any 32-bit lane can overflow.
(module
  ;; 16 pages (1 MB) of input at offset 0: the caller passes at most that much per call.
  (memory (export "memory") 16)

  (func $hsum (param $v v128) (result i64)
    (i64.add
      (i64.add
        (i64.extend_i32_u (i32x4.extract_lane 0 (local.get $v)))
        (i64.extend_i32_u (i32x4.extract_lane 1 (local.get $v))))
      (i64.add
        (i64.extend_i32_u (i32x4.extract_lane 2 (local.get $v)))
        (i64.extend_i32_u (i32x4.extract_lane 3 (local.get $v))))))

  ;; update(adler, length): the adler32 (s2 << 16 | s1) after the `length` bytes at offset 0.
  (func (export "update") (param $adler i32) (param $length i32) (result i32)
    (local $s1 i64) (local $s2 i64) (local $ptr i32) (local $end i32) (local $round i32)
    (local $block v128) (local $sum v128) (local $before v128) (local $weighted v128)
    (local.set $s1 (i64.extend_i32_u (i32.and (local.get $adler) (i32.const 0xffff))))
    (local.set $s2 (i64.extend_i32_u (i32.shr_u (local.get $adler) (i32.const 16))))

    ;; Whole 16-byte blocks, in rounds of at most 5536 bytes.
    (block $blocks_done
      (loop $rounds
        (local.set $round (i32.and (local.get $length) (i32.const -16)))
        (br_if $blocks_done (i32.eqz (local.get $round)))
        (if (i32.gt_u (local.get $round) (i32.const 5536))
          (then (local.set $round (i32.const 5536))))
        (local.set $end (i32.add (local.get $ptr) (local.get $round)))
        (local.set $sum (v128.const i32x4 0 0 0 0))
        (local.set $before (v128.const i32x4 0 0 0 0))
        (local.set $weighted (v128.const i32x4 0 0 0 0))
        (loop $steps
          (local.set $block (v128.load (local.get $ptr)))
          ;; What s1 held before this block, counted 16 times below.
          (local.set $before (i32x4.add (local.get $before) (local.get $sum)))
          (local.set $sum
            (i32x4.add (local.get $sum)
              (i32x4.extadd_pairwise_i16x8_u
                (i16x8.extadd_pairwise_i8x16_u (local.get $block)))))
          (local.set $weighted
            (i32x4.add (local.get $weighted)
              (i32x4.add
                (i32x4.dot_i16x8_s
                  (i16x8.extend_low_i8x16_u (local.get $block))
                  (v128.const i16x8 16 15 14 13 12 11 10 9))
                (i32x4.dot_i16x8_s
                  (i16x8.extend_high_i8x16_u (local.get $block))
                  (v128.const i16x8 8 7 6 5 4 3 2 1)))))
          (local.set $ptr (i32.add (local.get $ptr) (i32.const 16)))
          (br_if $steps (i32.lt_u (local.get $ptr) (local.get $end))))
        (local.set $s2
          (i64.rem_u
            (i64.add
              (i64.add (local.get $s2)
                (i64.mul (local.get $s1) (i64.extend_i32_u (local.get $round))))
              (i64.add
                (i64.shl (call $hsum (local.get $before)) (i64.const 4))
                (call $hsum (local.get $weighted))))
            (i64.const 65521)))
        (local.set $s1
          (i64.rem_u (i64.add (local.get $s1) (call $hsum (local.get $sum))) (i64.const 65521)))
        (local.set $length (i32.sub (local.get $length) (local.get $round)))
        (br $rounds)))

    ;; The last 0–15 bytes one by one.
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.eqz (local.get $length)))
        (local.set $s1 (i64.add (local.get $s1) (i64.load8_u (local.get $ptr))))
        (local.set $s2 (i64.add (local.get $s2) (local.get $s1)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
        (local.set $length (i32.sub (local.get $length) (i32.const 1)))
        (br $tail)))
    (i32.or
      (i32.shl (i32.wrap_i64 (i64.rem_u (local.get $s2) (i64.const 65521))) (i32.const 16))
      (i32.wrap_i64 (i64.rem_u (local.get $s1) (i64.const 65521))))))
