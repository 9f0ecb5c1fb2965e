-- Functions on PostgreSQL's bit strings for binary-quantized search: hamming_distance,
-- jaccard_distance (<~>, <%>), binary_quantize, errors.

SELECT hamming_distance('1011', '1011'), hamming_distance('1011', '0100'),
	hamming_distance('1011', '1001'), '1011'::bit(4) <~> '0011';
SELECT hamming_distance('', '');
SELECT jaccard_distance('1111', '1111'), jaccard_distance('1111', '1100'),
	jaccard_distance('1100', '0011'), jaccard_distance('0000', '0000'),
	jaccard_distance('', ''), '1110'::bit(4) <%> '0111';
-- bit varying arguments are taken as bit
SELECT hamming_distance('101'::varbit, '000'::varbit(8)), '101'::varbit <~> '100';
-- lengths that exercise every word and vector step of the kernels (popcount by
-- hand with length(replace(...)))
SELECT n, hamming_distance(a, b) = length(replace((a # b)::text, '0', '')) AS hamming_ok,
	jaccard_distance(a, b) = CASE WHEN length(replace((a & b)::text, '0', '')) = 0 THEN 1
		ELSE 1 - length(replace((a & b)::text, '0', ''))::float8
			/ length(replace((a | b)::text, '0', '')) END AS jaccard_ok
FROM (SELECT n,
		(SELECT string_agg(CASE WHEN (i * 7 + n) % 3 = 0 THEN '1' ELSE '0' END, '')
			FROM generate_series(1, n) i)::varbit AS a,
		(SELECT string_agg(CASE WHEN (i * 5 + n) % 4 < 2 THEN '1' ELSE '0' END, '')
			FROM generate_series(1, n) i)::varbit AS b
	FROM unnest(ARRAY[1, 7, 8, 9, 63, 64, 65, 255, 256, 257, 511, 512, 513, 1536, 3000]) n) s
ORDER BY n;
\set VERBOSITY terse
SELECT hamming_distance('111', '00');
\echo :SQLSTATE
SELECT jaccard_distance('111', '0000');
\echo :SQLSTATE
SELECT '1'::bit(1) <~> '10';
\echo :SQLSTATE
SELECT '1'::bit(1) <%> '10';
\echo :SQLSTATE
\set VERBOSITY default

-- binary_quantize: bit i set where element i is positive (0 and -0 are not)
SELECT binary_quantize('[1,-1,0,2,-0,0.001,-3,4,5]'::vector);
SELECT binary_quantize('[1,-1,0,2,-0,0.001,-3,4,5]'::vector) = binary_quantize('[1,-1,0,2,-0,0.001,-3,4,5]'::halfvec) AS same;
SELECT length(binary_quantize(array_fill(1, ARRAY[16000])::vector)),
	length(replace(binary_quantize(array_fill(1, ARRAY[16000])::vector)::text, '0', '')) AS ones;

-- binary quantization with re-rank, as pgvector's README shows it
CREATE TABLE bq (id int, v vector(3));
INSERT INTO bq SELECT i, ARRAY[sin(i), cos(i), sin(i * 2)]::real[] FROM generate_series(1, 200) i;
SELECT id FROM (
	SELECT id, v FROM bq
	ORDER BY binary_quantize(v)::bit(3) <~> binary_quantize('[1,1,1]'::vector), id LIMIT 20
) t ORDER BY v <=> '[1,1,1]' LIMIT 3;
DROP TABLE bq;
