-- Every member of the extension with the labels that decide how PostgreSQL may use it:
-- a label changed in sql/vecsearch.sql (volatility, parallel safety, strictness, cost,
-- a type's storage, an operator's commutator, an operator class member) shows here.
-- Identities are printed by the server (pg_describe_object, regprocedure, format_type),
-- so they do not depend on how the install script spells them.  Sorted by that text.

CREATE TEMP VIEW member AS
	SELECT d.classid, d.objid, d.objsubid
	FROM pg_depend d JOIN pg_extension e
		ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid
	WHERE e.extname = 'vecsearch' AND d.deptype = 'e';

-- every member, its kind and its comment (none on the operator families that CREATE
-- OPERATOR CLASS makes)
SELECT pg_describe_object(classid, objid, objsubid) COLLATE "C" AS member,
	obj_description(objid, classid::regclass::name) AS comment
FROM member
ORDER BY 1;

SELECT classid::regclass::text COLLATE "C" AS catalog, count(*) FROM member GROUP BY 1 ORDER BY 1;

-- functions and aggregates, one line each: kind (f function, a aggregate), volatility
-- (i immutable, s stable, v volatile), parallel (s safe, r restricted, u unsafe),
-- strict, security definer, leakproof, cost, rows, planner support, result, language and
-- C symbol, SET options
SELECT p.oid::regprocedure::text COLLATE "C" AS function, p.prokind AS kind,
	p.provolatile AS vol, p.proparallel AS par, p.proisstrict AS strict,
	p.prosecdef AS secdef, p.proleakproof AS leakproof, p.procost AS cost, p.prorows AS rows,
	p.prosupport AS support,
	CASE WHEN p.proretset THEN 'setof ' ELSE '' END || format_type(p.prorettype, NULL) AS returns,
	l.lanname AS lang, p.prosrc AS symbol, p.proconfig AS config
FROM member m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
JOIN pg_language l ON l.oid = p.prolang
ORDER BY 1;

-- the functions with argument names, defaults or a table result: their declarations
SELECT p.oid::regprocedure::text COLLATE "C" AS function,
	pg_get_function_arguments(p.oid) AS arguments, pg_get_function_result(p.oid) AS result
FROM member m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
WHERE p.proargnames IS NOT NULL OR p.pronargdefaults > 0
ORDER BY 1;

-- aggregates: transition, combine, final functions and state
SELECT a.aggfnoid::regprocedure::text COLLATE "C" AS aggregate, a.aggkind AS kind,
	a.aggtransfn AS transition, a.aggcombinefn AS combine, a.aggfinalfn AS final,
	a.aggserialfn AS serial, a.aggdeserialfn AS deserial, a.aggmtransfn AS moving,
	format_type(a.aggtranstype, NULL) AS state, a.agginitval AS init,
	a.aggfinalmodify AS final_modify
FROM member m JOIN pg_aggregate a ON m.classid = 'pg_proc'::regclass AND m.objid = a.aggfnoid
ORDER BY 1;

-- operators: function, result, commutator, negator, selectivity, merge/hash
SELECT o.oid::regoperator::text COLLATE "C" AS operator, o.oprcode AS function,
	format_type(o.oprresult, NULL) AS result,
	NULLIF(o.oprcom, 0)::regoperator AS commutator,
	NULLIF(o.oprnegate, 0)::regoperator AS negator,
	o.oprrest AS restrict, o.oprjoin AS join, o.oprcanmerge AS merges, o.oprcanhash AS hashes
FROM member m JOIN pg_operator o ON m.classid = 'pg_operator'::regclass AND m.objid = o.oid
ORDER BY 1;

-- types: length, storage, alignment and support functions
\x on
SELECT format_type(t.oid, NULL) COLLATE "C" AS type, t.typtype AS kind, t.typlen AS length,
	t.typbyval AS by_value, t.typstorage AS storage, t.typalign AS alignment,
	t.typcategory AS category, t.typispreferred AS preferred,
	t.typinput AS input, t.typoutput AS output, t.typreceive AS receive, t.typsend AS send,
	t.typmodin AS typmod_in, t.typmodout AS typmod_out, t.typanalyze AS analyze,
	t.typsubscript AS subscript, format_type(t.typarray, NULL) AS array_type,
	t.typdelim AS delimiter, t.typcollation <> 0 AS collatable
FROM member m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND m.objid = t.oid
ORDER BY 1;
\x off

-- casts: function and context (e explicit, a assignment, i implicit)
SELECT format_type(c.castsource, NULL) COLLATE "C" AS source,
	format_type(c.casttarget, NULL) COLLATE "C" AS target,
	c.castfunc::regprocedure AS function, c.castcontext AS context, c.castmethod AS method
FROM member m JOIN pg_cast c ON m.classid = 'pg_cast'::regclass AND m.objid = c.oid
ORDER BY 1, 2;

-- access methods: type and handler
SELECT a.amname COLLATE "C" AS access_method, a.amtype AS type, a.amhandler AS handler
FROM member m JOIN pg_am a ON m.classid = 'pg_am'::regclass AND m.objid = a.oid
ORDER BY 1;

-- operator classes: access method, input type, default, family
SELECT am.amname COLLATE "C" AS access_method, c.opcname COLLATE "C" AS opclass,
	format_type(c.opcintype, NULL) AS input, c.opcdefault AS is_default,
	f.opfname AS family, c.opckeytype <> 0 AS has_key_type
FROM member m JOIN pg_opclass c ON m.classid = 'pg_opclass'::regclass AND m.objid = c.oid
JOIN pg_am am ON am.oid = c.opcmethod
JOIN pg_opfamily f ON f.oid = c.opcfamily
ORDER BY 1, 2;

-- operator family members: operators (strategy, search or ordering, sort family) and
-- support functions (number, function, types), in families that belong to the extension
SELECT am.amname COLLATE "C" AS access_method, f.opfname COLLATE "C" AS family,
	'operator ' || o.amopstrategy AS member, o.amopopr::regoperator::text AS object,
	o.amoppurpose AS purpose, 'sort family ' || sf.opfname AS detail
FROM member m JOIN pg_opfamily f ON m.classid = 'pg_opfamily'::regclass AND m.objid = f.oid
JOIN pg_am am ON am.oid = f.opfmethod
JOIN pg_amop o ON o.amopfamily = f.oid
LEFT JOIN pg_opfamily sf ON sf.oid = o.amopsortfamily
UNION ALL
SELECT am.amname, f.opfname, 'function ' || p.amprocnum, p.amproc::regprocedure::text,
	NULL, 'for ' || format_type(p.amproclefttype, NULL) || ', ' || format_type(p.amprocrighttype, NULL)
FROM member m JOIN pg_opfamily f ON m.classid = 'pg_opfamily'::regclass AND m.objid = f.oid
JOIN pg_am am ON am.oid = f.opfmethod
JOIN pg_amproc p ON p.amprocfamily = f.oid
ORDER BY 1, 2, 3;
