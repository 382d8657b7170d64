//go:build amd64 && !purego

#include "textflag.h"

// func lrDotVec(w *int8, offs *int32, vals *int32, n int, chunks int, lanes *[64]int32)
//
// For each feature k: broadcast vals[k], sign-extend 8 weights at a time
// from the row at w+offs[k] into 32-bit lanes, multiply, accumulate. Y1…Y8
// hold the sums of models 0-7, 8-15, … ; chunks (1…8) says how many are
// live. The chunk tests are perfectly predicted branches. Rows are
// scattered over a table larger than L2, so each row is prefetched 16
// features ahead (offs has 16 readable entries past n).
TEXT ·lrDotVec(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ offs+8(FP), DI
	MOVQ vals+16(FP), R10
	MOVQ n+24(FP), CX
	MOVQ chunks+32(FP), DX
	MOVQ lanes+40(FP), R11
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	VPXOR Y8, Y8, Y8
	TESTQ CX, CX
	JEQ   store

loop:
	MOVLQSX      64(DI), R9 // the row 16 features ahead: fetch it now
	PREFETCHT0   (SI)(R9*1)
	PREFETCHT0   32(SI)(R9*1)
	MOVLQSX      (DI), R8
	VPBROADCASTD (R10), Y15
	VPMOVSXBD    0(SI)(R8*1), Y0
	VPMULLD      Y15, Y0, Y0
	VPADDD       Y0, Y1, Y1
	CMPQ         DX, $1
	JEQ          next
	VPMOVSXBD    8(SI)(R8*1), Y0
	VPMULLD      Y15, Y0, Y0
	VPADDD       Y0, Y2, Y2
	CMPQ         DX, $2
	JEQ          next
	VPMOVSXBD    16(SI)(R8*1), Y0
	VPMULLD      Y15, Y0, Y0
	VPADDD       Y0, Y3, Y3
	CMPQ         DX, $3
	JEQ          next
	VPMOVSXBD    24(SI)(R8*1), Y0
	VPMULLD      Y15, Y0, Y0
	VPADDD       Y0, Y4, Y4
	CMPQ         DX, $4
	JEQ          next
	VPMOVSXBD    32(SI)(R8*1), Y0
	VPMULLD      Y15, Y0, Y0
	VPADDD       Y0, Y5, Y5
	CMPQ         DX, $5
	JEQ          next
	VPMOVSXBD    40(SI)(R8*1), Y0
	VPMULLD      Y15, Y0, Y0
	VPADDD       Y0, Y6, Y6
	CMPQ         DX, $6
	JEQ          next
	VPMOVSXBD    48(SI)(R8*1), Y0
	VPMULLD      Y15, Y0, Y0
	VPADDD       Y0, Y7, Y7
	CMPQ         DX, $7
	JEQ          next
	VPMOVSXBD    56(SI)(R8*1), Y0
	VPMULLD      Y15, Y0, Y0
	VPADDD       Y0, Y8, Y8

next:
	ADDQ $4, DI
	ADDQ $4, R10
	DECQ CX
	JNE  loop

store:
	VMOVDQU Y1, 0(R11)
	VMOVDQU Y2, 32(R11)
	VMOVDQU Y3, 64(R11)
	VMOVDQU Y4, 96(R11)
	VMOVDQU Y5, 128(R11)
	VMOVDQU Y6, 160(R11)
	VMOVDQU Y7, 192(R11)
	VMOVDQU Y8, 224(R11)
	VZEROUPPER
	RET
