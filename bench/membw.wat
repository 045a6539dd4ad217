(module
  (memory (export "memory") 1)
  ;; Sum of the i32x4 lanes of [p, p+n), n a multiple of 64: one sequential stream.
  (func (export "sum1") (param $p i32) (param $n i32) (result i32)
    (local $end i32) (local $a v128) (local $b v128) (local $c v128) (local $d v128)
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $a (i32x4.add (local.get $a) (v128.load offset=0 (local.get $p))))
        (local.set $b (i32x4.add (local.get $b) (v128.load offset=16 (local.get $p))))
        (local.set $c (i32x4.add (local.get $c) (v128.load offset=32 (local.get $p))))
        (local.set $d (i32x4.add (local.get $d) (v128.load offset=48 (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (br $l)))
    (i32x4.extract_lane 0
      (i32x4.add (i32x4.add (local.get $a) (local.get $b)) (i32x4.add (local.get $c) (local.get $d)))))
  ;; The same bytes as four far-apart streams read in turn (n a multiple of 256).
  (func (export "sum4") (param $p i32) (param $n i32) (result i32)
    (local $q i32) (local $end i32) (local $a v128) (local $b v128) (local $c v128) (local $d v128)
    (local.set $q (i32.shr_u (local.get $n) (i32.const 2)))
    (local.set $end (i32.add (local.get $p) (local.get $q)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $a (i32x4.add (local.get $a) (v128.load offset=0 (local.get $p))))
        (local.set $a (i32x4.add (local.get $a) (v128.load offset=16 (local.get $p))))
        (local.set $a (i32x4.add (local.get $a) (v128.load offset=32 (local.get $p))))
        (local.set $a (i32x4.add (local.get $a) (v128.load offset=48 (local.get $p))))
        (local.set $b (i32x4.add (local.get $b) (v128.load offset=0 (i32.add (local.get $p) (local.get $q)))))
        (local.set $b (i32x4.add (local.get $b) (v128.load offset=16 (i32.add (local.get $p) (local.get $q)))))
        (local.set $b (i32x4.add (local.get $b) (v128.load offset=32 (i32.add (local.get $p) (local.get $q)))))
        (local.set $b (i32x4.add (local.get $b) (v128.load offset=48 (i32.add (local.get $p) (local.get $q)))))
        (local.set $c (i32x4.add (local.get $c) (v128.load offset=0 (i32.add (local.get $p) (i32.shl (local.get $q) (i32.const 1))))))
        (local.set $c (i32x4.add (local.get $c) (v128.load offset=16 (i32.add (local.get $p) (i32.shl (local.get $q) (i32.const 1))))))
        (local.set $c (i32x4.add (local.get $c) (v128.load offset=32 (i32.add (local.get $p) (i32.shl (local.get $q) (i32.const 1))))))
        (local.set $c (i32x4.add (local.get $c) (v128.load offset=48 (i32.add (local.get $p) (i32.shl (local.get $q) (i32.const 1))))))
        (local.set $d (i32x4.add (local.get $d) (v128.load offset=0 (i32.add (local.get $p) (i32.mul (local.get $q) (i32.const 3))))))
        (local.set $d (i32x4.add (local.get $d) (v128.load offset=16 (i32.add (local.get $p) (i32.mul (local.get $q) (i32.const 3))))))
        (local.set $d (i32x4.add (local.get $d) (v128.load offset=32 (i32.add (local.get $p) (i32.mul (local.get $q) (i32.const 3))))))
        (local.set $d (i32x4.add (local.get $d) (v128.load offset=48 (i32.add (local.get $p) (i32.mul (local.get $q) (i32.const 3))))))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (br $l)))
    (i32x4.extract_lane 0
      (i32x4.add (i32x4.add (local.get $a) (local.get $b)) (i32x4.add (local.get $c) (local.get $d))))))
