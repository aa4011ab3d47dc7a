function caseFile = make_reference(net, layer, channels, varargin)
%MAKE_REFERENCE  Write a schema-v1 parity case of MATLAB's deepDreamImage.
%
%   caseFile = make_reference(net, layer, channels, Name, Value, ...)
%
%   For a user with MATLAB and the Deep Learning Toolbox (R2018b or later for
%   exportONNXNetwork). Exports NET to ONNX, seeds rng(seed,'twister'), runs
%   deepDreamImage with an explicit InitialImage twice (OutputScaling 'none'
%   and 'linear', each after re-seeding, Verbose on) and writes a case file
%   that the Python port checks with
%
%       deepdream parity OUTDIR/cases --models OUTDIR/models
%
%   The fields are those of parity/reference/README.md (schema v1).
%
%   Name-value options (defaults in brackets):
%     'Name'           case name                          [layer + '_case']
%     'OutDir'         folder for models/ and cases/      ['parity_out']
%     'Seed'           rng(Seed, 'twister')               [0]
%     'InitialImage'   H x W x C image                    [randn of the input size]
%     'NumIterations'  [10]   'PyramidLevels' [3]   'PyramidScale' [1.4]
%     'Precision'      'single' | 'double'                ['single']
%
%   Activation strengths: deepDreamImage does not return them, so the
%   verbose table is captured with evalc and parsed. It prints two decimals
%   only, so the recorded strengths carry +-0.005 of rounding, more than the
%   parity check's 1e-4 tolerance; the case therefore also records
%   strengthResolution = 0.01 and `deepdream parity` widens its strength
%   tolerance by half of it (Iraw, Ilinear and rolls are judged as usual).
%   A repeated row is not printed by MATLAB, so repeated rows are restored
%   from the iteration counter.
%
%   Rolls: MATLAB draws them inside TiledGradients with randi(TileSize) from
%   the global stream and does not expose them. This script reproduces them
%   by replaying the stream: with the same seed, and knowing how many
%   iterations ran on images larger than the tile, it calls randi(TileSize)
%   twice per such iteration (X first), exactly as TiledGradients does. That
%   is only valid when nothing else draws from the global stream during the
%   call, which holds because InitialImage is given (no randn).
%
%   Example:
%       net = squeezenet;
%       make_reference(net, 'fire4-concat', 1:3, 'Seed', 7, ...
%           'InitialImage', single(rand(64, 64, 3) * 255), 'NumIterations', 3, ...
%           'PyramidLevels', 2, 'Precision', 'single');

p = inputParser;
p.addParameter('Name', '');
p.addParameter('OutDir', 'parity_out');
p.addParameter('Seed', 0);
p.addParameter('InitialImage', []);
p.addParameter('NumIterations', 10);
p.addParameter('PyramidLevels', 3);
p.addParameter('PyramidScale', 1.4);
p.addParameter('Precision', 'single');
p.parse(varargin{:});
opt = p.Results;

name = opt.Name;
if isempty(name)
    name = [matlab.lang.makeValidName(layer) '_case'];
end
modelsDir = fullfile(opt.OutDir, 'models');
casesDir = fullfile(opt.OutDir, 'cases');
if ~exist(modelsDir, 'dir'), mkdir(modelsDir); end
if ~exist(casesDir, 'dir'), mkdir(casesDir); end

% --- export ------------------------------------------------------------
onnxName = [name '.onnx'];
exportONNXNetwork(net, fullfile(modelsDir, onnxName));

inputSize = net.Layers(1).InputSize;
tileSize = max(inputSize(1:2));
initialImage = opt.InitialImage;
if isempty(initialImage)
    rng(opt.Seed, 'twister');
    initialImage = randn(inputSize);
end
initialImage = cast(initialImage, opt.Precision);

common = {'InitialImage', initialImage, 'NumIterations', opt.NumIterations, ...
    'PyramidLevels', opt.PyramidLevels, 'PyramidScale', opt.PyramidScale, ...
    'Verbose', true, 'ExecutionEnvironment', 'cpu'};

% --- the two runs, each from the same seed ------------------------------
rng(opt.Seed, 'twister');
[tableText, Iraw] = evalc('deepDreamImage(net, layer, channels, common{:}, ''OutputScaling'', ''none'')');
rng(opt.Seed, 'twister');
Ilinear = deepDreamImage(net, layer, channels, common{:}, 'OutputScaling', 'linear', 'Verbose', false);

% --- the verbose table -> [level iteration strength] ---------------------
log = parseTable(tableText, opt.NumIterations, opt.PyramidLevels);

% --- rolls, by replaying the stream --------------------------------------
rolls = zeros(0, 2);
[h, w, ~] = size(initialImage);
rng(opt.Seed, 'twister');
for level = 1:opt.PyramidLevels
    if level > 1
        h = floor(h * opt.PyramidScale);
        w = floor(w * opt.PyramidScale);
    end
    if h > tileSize || w > tileSize
        for it = 1:opt.NumIterations
            rollX = randi(tileSize);
            rollY = randi(tileSize);
            rolls(end + 1, :) = [rollX rollY]; %#ok<AGROW>
        end
    end
end

% --- write the case -------------------------------------------------------
s = struct();
s.network = onnxName;
s.layer = layer;
s.channels = double(channels(:)');
s.InitialImage = initialImage;
s.NumIterations = double(opt.NumIterations);
s.PyramidLevels = double(opt.PyramidLevels);
s.PyramidScale = double(opt.PyramidScale);
s.TileSize = double(tileSize);
s.rngSeed = double(opt.Seed);
s.precision = opt.Precision;
s.Iraw = cast(Iraw, opt.Precision);
s.Ilinear = cast(Ilinear, opt.Precision);
s.activationLog = log;
s.strengthResolution = 0.01;
s.rolls = rolls;
s.source = sprintf('MATLAB %s, Deep Learning Toolbox %s, make_reference.m, %s', ...
    version, ver('nnet').Version, datestr(now, 'yyyy-mm-dd HH:MM'));
caseFile = fullfile(casesDir, [name '.mat']);
save(caseFile, '-struct', 's', '-v7');
fprintf('wrote %s and %s\n', caseFile, fullfile(modelsDir, onnxName));
end

function log = parseTable(text, numIterations, pyramidLevels)
%PARSETABLE  Rows of the verbose table as [level iteration strength].
rows = regexp(text, '\|\s*(\d+)\s*\|\s*([-\d.eE+]+|NaN|Inf)\s*\|\s*(\d+)\s*\|', 'tokens');
printed = zeros(numel(rows), 3);
for k = 1:numel(rows)
    printed(k, :) = [str2double(rows{k}{3}) str2double(rows{k}{1}) str2double(rows{k}{2})];
end
% restore rows MATLAB did not print because they repeated the previous one
log = zeros(numIterations * pyramidLevels, 3);
n = 0; last = [NaN NaN NaN];
k = 1;
for level = 1:pyramidLevels
    for it = 1:numIterations
        if k <= size(printed, 1) && printed(k, 1) == level && printed(k, 2) == it
            last = printed(k, :);
            k = k + 1;
        else
            last(1:2) = [level it];
        end
        n = n + 1;
        log(n, :) = last;
    end
end
end
