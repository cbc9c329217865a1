"""The public names of hepdl are pinned: a change here is a change for every notebook."""

import importlib

import pytest

PUBLIC = {
    "hepdl": ["io", "results", "seeding", "style", "__version__"],
    "hepdl.common.io": ["DataFileError", "open_h5", "read_attrs", "read_h5", "rebuild_hint",
                        "write_h5"],
    "hepdl.common.digests": ["file_sha256", "manifest_path", "manifest_problem", "read_manifest",
                             "verify_digest", "write_manifest"],
    "hepdl.common.results": ["ENV_VAR", "load", "record", "results_path"],
    "hepdl.common.seeding": ["generator", "spawn"],
    "hepdl.common.style": ["use"],
    "hepdl.common.callbacks": ["TimeBudget"],
    "hepdl.common.registry": ["DatasetSpec"],
    "hepdl.common.data": ["ENV_VAR", "data_root", "load", "path", "rebuild_command"],
    "hepdl.common.tiers": ["DEFAULT_TIER", "TIERS", "check_tier"],
    "hepdl.warmup": ["DATASETS", "simulate"],
    "hepdl.datasets": ["BuildResult", "ENV_VAR", "REGISTRY", "ROOMS", "SIZES", "DatasetSpec",
                       "build", "data_root", "load", "path", "rebuild_command"],
    "hepdl.warmup.simulate": ["BarrelConfig", "ShowerConfig", "config_dict", "curvature_radius_mm",
                              "hit_phi", "simulate_barrel_events", "simulate_showers"],
    "hepdl.common.physics": ["curvature_radius_mm", "highland_theta0", "next_crossing"],
    "hepdl.common.azimuth": ["TWO_PI", "phi_bin", "wrap_phi"],
    "hepdl.common.checks": ["positive_int"],
    "hepdl.common.stats": ["bootstrap_interval"],
    "hepdl.common.diagrams": ["layer_summary", "model_diagram", "pipeline_diagram", "unrolled_recurrence"],
    "hepdl.common.pipeline": ["ClassMixPipeline", "MIXES", "NORMALISATIONS"],
    "hepdl.common.tables": ["concat", "count_events", "index_within", "positive_poisson", "take",
                            "without_empty_events"],
    "hepdl.tracking": ["DATASETS", "TRACKML_CSV_EVENTS", "baselines", "formats", "geometry",
                       "ramp", "read_ramp_csv", "read_trackml_event", "scores", "trackml"],
    "hepdl.tracking.geometry": ["RAMP_LAYER_RADII_MM", "RAMP_N_LAYERS", "RAMP_PHI_PITCH_MM",
                                "TRACKML_HALF_LENGTH_MM", "TRACKML_LAYER_IDS",
                                "TRACKML_LAYER_RADII_MM", "TRACKML_N_LAYERS",
                                "TRACKML_VOLUME_IDS", "phi_cells"],
    "hepdl.tracking.ramp": ["RampConfig", "config_dict", "n_phi_cells", "simulate_ramp_events"],
    "hepdl.tracking.trackml": ["ORDER_PROPOSAL", "TrackMLConfig", "config_dict", "hit_weights",
                               "order_weight_matrix", "simulate_trackml_events"],
    "hepdl.tracking.formats": ["RAMP_HITS_COLUMNS", "RAMP_PARTICLES_COLUMNS", "TRACKML_COLUMNS",
                               "TRACKML_LAYERS", "TrackingFormatError", "event_prefix",
                               "read_ramp_csv", "read_trackml_event", "select_event",
                               "write_ramp_csv", "write_trackml_csv"],
    "hepdl.tracking.scores": ["ramp_event_scores", "ramp_score", "trackml_score"],
    "hepdl.tracking.baselines": ["each_hit_alone", "hit_arrays", "one_cluster", "road_following"],
    "hepdl.calorimeter": ["DATASETS", "features", "formats", "geometry", "particle_paths",
                          "read_particle_file", "simulate"],
    "hepdl.calorimeter.geometry": ["ECAL_ABSORBER_MM", "ECAL_CELL_MM", "ECAL_FRONT_DISTANCE_MM",
                                   "ECAL_LAMBDA_EFF_MM", "ECAL_LAMBDA_PER_LAYER",
                                   "ECAL_LAYER_PITCH_MM", "ECAL_MIP_GEV", "ECAL_N_LAYERS",
                                   "ECAL_RM_EFF_MM", "ECAL_SHAPE", "ECAL_X0_PER_LAYER",
                                   "HCAL_CELL_MM", "HCAL_LAMBDA_EFF_MM", "HCAL_LAMBDA_PER_LAYER",
                                   "HCAL_LAYER_PITCH_MM", "HCAL_MIP_GEV", "HCAL_N_LAYERS",
                                   "HCAL_RM_EFF_MM", "HCAL_SCINTILLATOR_MM", "HCAL_SHAPE",
                                   "HCAL_STEEL_MM", "HCAL_X0_PER_LAYER", "IRON",
                                   "LARGE_ECAL_SHAPE", "LARGE_HCAL_SHAPE", "POLYSTYRENE",
                                   "TUNGSTEN", "ecal_lambda", "ecal_x0"],
    "hepdl.calorimeter.simulate": ["CalorimeterConfig", "PARTICLES", "config_dict", "mass_gev",
                                   "pi0_decay", "simulate_events"],
    "hepdl.calorimeter.features": ["FEATURE_NAMES", "HIT_THRESHOLD_GEV", "add_features",
                                   "feature_matrix"],
    "hepdl.calorimeter.formats": ["DATASET_NAME", "GROUPS", "IMAGE_SHAPES", "PARTICLE_FILES",
                                  "particle_paths", "read_particle_file", "write_layout",
                                  "write_particle_file"],
    "hepdl.lartpc.plots": ["drift_view", "wire_image", "wire_plane_view"],
    "hepdl.calorimeter.plots": ["front_view", "projections", "side_view"],
    "hepdl.lartpc": ["DATASETS", "argon", "formats", "geometry", "read_images", "read_points",
                     "readout", "reconstruct", "simulate", "voxelize"],
    "hepdl.lartpc.geometry": ["ACTIVE_X_CM", "ACTIVE_Y_CM", "ACTIVE_Z_CM", "BIN_CM",
                              "DRIFT_SPEED_CM_PER_US", "ELECTRON_LIFETIME_US", "FIELD_KV_PER_CM",
                              "N_PLANES", "N_RAW_TICKS", "N_TIME_BINS", "N_WIRES", "PLANE_NAMES",
                              "TICKS_PER_BIN", "TICK_US", "VOXEL_SHAPE", "WIRE_ANGLE_DEG",
                              "WIRE_PITCH_CM", "in_volume", "project", "wire_crossing"],
    "hepdl.lartpc.argon": ["BOX_ALPHA", "BOX_BETA", "CRITICAL_ENERGY_MEV", "DENSITY_G_PER_CM3",
                           "INTERACTION_LENGTH_CM", "MEAN_EXCITATION_EV", "MIP_DEDX_MEV_PER_CM",
                           "MOLIERE_RADIUS_CM", "PAIR_MEAN_FREE_PATH_CM", "RADIATION_LENGTH_CM",
                           "W_ION_EV", "Z_OVER_A", "box_recombination", "csda_range_cm",
                           "dedx_from_charge", "ionisation_electrons", "kinetic_from_range_mev",
                           "mass_mev", "momentum_to_kinetic_mev", "stopping_power_mev_per_cm"],
    "hepdl.lartpc.readout": ["FINE_TICKS", "ReadoutConfig", "add_noise", "response_kernels",
                             "wire_signals"],
    "hepdl.lartpc.simulate": ["CLASS_NAMES", "LArTPCConfig", "PDG_IDS", "SHOWER_CLASSES",
                              "config_dict", "simulate_events"],
    "hepdl.lartpc.formats": ["CLASS_OF_FILE", "DATASET_NAME", "FILE_NAMES", "LArTPCFormatError",
                             "downsample_ticks", "event_points", "file_name", "read_images",
                             "read_points", "voxelize", "write_public"],
    "hepdl.lartpc.reconstruct": ["backproject", "backprojection_scores", "hit_maps",
                                 "truth_hit_maps", "voxel_scores"],
    "hepdl.driftchamber": ["DATASETS", "dedx", "encodings", "events_csv", "features", "geometry",
                           "kinematics", "simulate"],
    "hepdl.driftchamber.kinematics": ["N_TRACKS", "PDG_ID", "boost", "invariant_mass", "mass_gev",
                                      "phase_space_pipimumu", "psi2s_to_pipi_jpsi",
                                      "sample_cos_theta_transverse", "sample_pipi_mass",
                                      "two_body_momentum"],
    "hepdl.driftchamber.geometry": ["ChamberGeometry", "N_LAYERS", "N_WIRES", "load_geometry",
                                    "nearest_wire"],
    "hepdl.driftchamber.dedx": ["GasConfig", "lognormal_fluctuation", "relative_dedx",
                                "restricted_dedx"],
    "hepdl.driftchamber.simulate": ["DriftChamberConfig", "EVENT_TYPES", "config_dict",
                                    "curvature_radius_mm", "simulate_events"],
    "hepdl.driftchamber.events_csv": ["CSV_COLUMNS", "read_event_csv", "write_event_csv"],
    "hepdl.driftchamber.encodings": ["DEFAULT_NUM_PHI_BINS", "ENCODINGS", "encode", "encode_file",
                                     "fit_normalisation", "normalise"],
    "hepdl.driftchamber.features": ["N_TRACKS", "event_features", "track_features"],
    "hepdl.tracking.clusterer": ["Clusterer", "HIT_COLUMNS", "N_LAYERS", "as_array", "assign_hits",
                                 "build_model", "correct_hits", "phi_bin", "seed_images",
                                 "seed_targets"],
    "hepdl.tracking.approaches": ["RelativeClusterer", "conformal", "hough_accumulator",
                                  "hough_clusterer", "hough_kappa", "nearest_other_hit",
                                  "relative_bins", "relative_images"],
    "hepdl.tracking.following": ["FEATURES", "HALF_LENGTH_MM", "LAYER_RADII_MM", "N_LAYERS",
                                 "N_SEED_HITS", "build_extrapolator", "dbscan_seeds", "decode_targets",
                                 "encode_windows", "follow", "hit_features", "inference_seconds",
                                 "linear_predictor", "lstm_predictor", "load_event",
                                 "nearest_free_hits", "prepare_event", "score", "seed_quality",
                                 "stay_predictor", "submission", "timing", "training_set",
                                 "true_seeds", "true_tracks", "truth_predictor"],
    "hepdl.driftchamber.models": ["CircularPad", "build_cnn", "build_cnn_lstm", "build_dense",
                                  "loss_for"],
    "hepdl.driftchamber.tracks": ["AXIAL", "N_CHANNELS", "N_LAYERS", "N_TRACKS", "Q_SCALE_ADC",
                                  "R_SCALE_MM", "SPECIES", "curvature_sign", "end_points",
                                  "network_inputs", "reference_angle", "rotate_xy",
                                  "track_sequences", "track_targets"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names(module):
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(PUBLIC[module])
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name} is in __all__ but missing"


def test_importing_hepdl_does_not_import_keras():
    import subprocess
    import sys

    code = ("import sys, hepdl, hepdl.datasets, hepdl.warmup, hepdl.tracking, hepdl.driftchamber, "
            "hepdl.tracking.clusterer, hepdl.tracking.approaches, hepdl.tracking.following, "
            "hepdl.driftchamber.tracks, hepdl.lartpc, hepdl.lartpc.reconstruct, "
            "hepdl.lartpc.plots, hepdl.calorimeter, hepdl.calorimeter.plots; "
            "print(sorted(m for m in ('keras', 'tensorflow', 'pybes3') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
